package api

import (
	"fmt"

	"github.com/nats-io/nats.go/micro"

	"github.com/amf-os/amf/kernel/bus"
)

// askersGrant is the grant a request for task t carries: an operator on
// the unowned subjects (admins; the bridge for admin tokens) may ask for
// any profile; anyone else has the grant its subject names. A task whose
// default profile could not be told (no worker of its pool has said yet)
// is pinned to the base profile for anyone but an operator, so it never
// runs with a default its submitter was not granted.
func askersGrant(a bus.Access, t *bus.Task, subjectGrant string) string {
	if a.ActAll && a.Owner == "" {
		return t.Policy
	}
	if t.Policy == "" {
		t.Policy = bus.BasePolicy
	}
	return subjectGrant
}

// refuseGrant answers a request whose task's profile needs a grant its
// subject lacks; named says whether the task named the profile, else it
// is its pool's default. A granted credential asks on subject, with
// which it does, as verb says ("submits", "schedules"). The refusal of
// a default names it in bus.HeaderDefaultPolicy: the asker's client
// asks again on that profile's subject when its credential (or token)
// holds the grant.
func refuseGrant(r micro.Request, policy string, named bool, verb, subject string) {
	if named {
		_ = r.Error("403", fmt.Sprintf("%s: policy %q needs the grant %q; a credential granted it %s on %s (amf auth creds client --grant %s)",
			bus.RuleGrant, policy, policy, verb, subject, policy), nil)
		return
	}
	_ = r.Error("403", fmt.Sprintf("%s: the task names no policy, so it would run with its pool's default profile %q, which needs the grant %q: name the policy %q (--policy, \"policy\" in JSON), or use a credential granted %q, which %s on %s (amf auth creds client --grant %s)",
		bus.RuleGrant, policy, policy, bus.BasePolicy, policy, verb, subject, policy), nil,
		micro.WithHeaders(micro.Headers{bus.HeaderDefaultPolicy: []string{policy}}))
}
