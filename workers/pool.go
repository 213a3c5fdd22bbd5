package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// poolConsumer opens the pool's durable consumer. A worker's credential
// may not create consumers, so the kernel makes it on request (with the
// bus's own configuration, not one a worker chose); with no kernel
// answering (a bare NATS server, admin credentials) the worker makes it.
func (w *Worker) poolConsumer(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	stream, name := w.cfg.Names.TasksStream(), w.cfg.Names.PoolConsumer(w.cfg.Pool)
	_, err := w.cfg.NC.Request(w.cfg.Names.PoolSubject(w.cfg.Pool), nil, 10*time.Second)
	switch {
	case err == nil:
		return js.Consumer(ctx, stream, name)
	case errors.Is(err, nats.ErrNoResponders):
		return js.CreateOrUpdateConsumer(ctx, stream, w.cfg.Names.PoolConsumerConfig(w.cfg.Pool))
	}
	if cons, cerr := js.Consumer(ctx, stream, name); cerr == nil {
		return cons, nil
	}
	return nil, fmt.Errorf("the kernel did not open pool %q for this worker (%v): is the worker's credential issued for this pool (amf auth creds worker --pool %s)?", w.cfg.Pool, err, w.cfg.Pool)
}

// grantRefusal says why a task may not run with the profile it asks for,
// "" when it may. The subject it arrived on carries its submitter's
// grant: nats-server let it be published there only with that grant. A
// task naming no profile is judged as the one it will get, this
// worker's default, which may need a grant of its own.
func (w *Worker) grantRefusal(subject string, t bus.Task) string {
	grant := w.cfg.Names.GrantOf(subject, w.cfg.Pool)
	policy := t.Policy
	if policy == "" && grant == "" {
		// Only admins and the kernel publish on the pool's own subject
		// (a client submits through the task API, which names the
		// profile a task naming none will get, or strict when it cannot
		// tell): a task there naming none is an operator's, and gets the
		// default.
		return ""
	}
	if policy == "" {
		if o := w.offer(); o != nil {
			policy = o.Default
		}
	}
	if bus.PolicyAllowed(policy, grant) {
		return ""
	}
	if t.Policy == "" {
		return fmt.Sprintf("%s: the task names no policy, so it would run with this worker's default profile %q, which needs the grant %q, and the task arrived on %s, where only profile %q may run; name \"policy\": %q, or submit it with a credential granted %q (amf auth creds client --grant %s)",
			bus.RuleGrant, policy, policy, subject, orDefault(grant, bus.BasePolicy), bus.BasePolicy, policy, policy)
	}
	return fmt.Sprintf("%s: policy %q needs the grant %q, and the task arrived on %s, where only profile %q may run; submit it with a credential granted %q (amf auth creds client --grant %s)",
		bus.RuleGrant, t.Policy, t.Policy, subject, orDefault(grant, bus.BasePolicy), t.Policy, t.Policy)
}
