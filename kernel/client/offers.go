package client

import (
	"context"

	"github.com/amf-os/amf/kernel/bus"
)

// WorkerLister lists live workers with what their heartbeats offer
// (the hot cache).
type WorkerLister interface {
	Workers(ctx context.Context) ([]bus.WorkerInfo, error)
}

// checkOffers refuses, at submission, a task naming a workspace that no
// present worker of its pool declares or lets its profile use; the
// error names the workspaces there are. Without a worker list, or when
// it cannot be read, the worker judges instead.
func (c *Client) checkOffers(ctx context.Context, t bus.Task) error {
	if c.Offers == nil || t.Workspace == "" {
		return nil
	}
	ws, err := c.Offers.Workers(ctx)
	if err != nil {
		return nil
	}
	var offers []bus.Offer
	for _, w := range ws {
		if w.Pool == t.Pool && w.Offer != nil {
			offers = append(offers, *w.Offer)
		}
	}
	return bus.CheckWorkspace(t, offers)
}
