package client

import (
	"context"
	"errors"

	"github.com/amf-os/amf/kernel/bus"
)

// ResolvePolicy names, in a task that names no policy, the profile the
// live workers of its pool give such a task (their offers' default), so
// that the submitter's grants are judged against the profile the task
// will run with, and the task travels on that profile's subject. With
// no worker heard from, or workers that disagree, the task keeps no
// policy: a worker whose default needs a grant then refuses it.
func (c *Client) ResolvePolicy(ctx context.Context, t *bus.Task) {
	if t.Policy != "" || c.Offers == nil {
		return
	}
	pool := t.Pool
	if pool == "" {
		pool = bus.DefaultPool
	}
	ws, _, err := c.liveWorkers(ctx, pool, false)
	if err != nil {
		return
	}
	def := ""
	for _, w := range ws {
		if w.Pool != pool || w.Offer == nil || w.Offer.Default == "" {
			continue
		}
		if def != "" && def != w.Offer.Default {
			return
		}
		def = w.Offer.Default
	}
	if def != "" && def != bus.BasePolicy {
		t.Policy = def
	}
}

// A submitter that could not tell its pool's default profile (no worker
// heard from yet when it asked, or a credential that may not read the
// heartbeats) sends a task naming none on the base profile's subject;
// the kernel, which can tell, refuses it when the default needs a grant
// and names the default (bus.HeaderDefaultPolicy). The submission then
// asks again on that profile's subject, where nats-server judges the
// credential, after the check WithGrantCheck gave, which judges the
// bridge's token.

type grantCheckKey struct{}

// WithGrantCheck makes a submission with ctx ask for its pool's default
// profile, when the kernel names it, only if may(profile) is nil; its
// error is then the submission's. The bridge judges its token's grants
// here, as it does for a profile the task names.
func WithGrantCheck(ctx context.Context, may func(policy string) error) context.Context {
	return context.WithValue(ctx, grantCheckKey{}, may)
}

// defaultRefused is the default profile the kernel named refusing a
// task that named none for a grant ("" for any other answer).
func defaultRefused(err error) string {
	var ae *apiErr
	if !errors.As(err, &ae) || ae.code != "403" {
		return ""
	}
	return ae.defaultPolicy
}

// withDefault answers ask(t) and, when the kernel refused t, which
// names no policy, for the grant of its pool's default profile, ask of
// t naming that profile. A credential without the grant gets the first
// refusal, which says what to do.
func withDefault[R any](ctx context.Context, t bus.Task, ask func(bus.Task) (R, error)) (R, error) {
	r, err := ask(t)
	policy := defaultRefused(err)
	if policy == "" || t.Policy != "" {
		return r, err
	}
	if may, ok := ctx.Value(grantCheckKey{}).(func(string) error); ok && may != nil {
		if merr := may(policy); merr != nil {
			return r, merr
		}
	}
	named := t
	named.Policy = policy
	r2, err2 := ask(named)
	if errors.Is(err2, ErrForbidden) {
		return r, err
	}
	return r2, err2
}
