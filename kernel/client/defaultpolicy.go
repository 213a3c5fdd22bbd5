package client

import (
	"context"

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
