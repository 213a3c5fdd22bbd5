package api

import "github.com/amf-os/amf/kernel/bus"

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
