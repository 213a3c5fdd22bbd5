package client

import (
	"context"
	"fmt"

	"github.com/amf-os/amf/kernel/bus"
)

// WorkerLister lists live workers with what their heartbeats offer
// (the hot cache).
type WorkerLister interface {
	Workers(ctx context.Context) ([]bus.WorkerInfo, error)
}

// checkOffers refuses, at submission, a task naming a profile or a
// workspace that no present worker of its pool serves; the error names
// the ones there are. A task no live worker of its pool could take is
// accepted (a worker may be starting) with a warning saying so. Without
// a worker list, or when it cannot be read, the worker judges instead.
func (c *Client) checkOffers(ctx context.Context, t bus.Task) (warning string, err error) {
	if c.Offers == nil {
		return "", nil
	}
	ws, err := c.Offers.Workers(ctx)
	if err != nil {
		return "", nil
	}
	var served, fleet []bus.Offer
	present := false
	for _, w := range ws {
		if w.Pool == t.Pool {
			present = true
		}
		if w.Offer == nil {
			continue
		}
		fleet = append(fleet, *w.Offer)
		if w.Pool == t.Pool {
			served = append(served, *w.Offer)
		}
	}
	if err := bus.CheckProfile(t, served, fleet); err != nil {
		return "", err
	}
	if err := bus.CheckWorkspace(t, served); err != nil {
		return "", err
	}
	if !present {
		return NoWorker(t.Pool), nil
	}
	return "", nil
}

// NoWorker is the warning a task queued for a pool without a live
// worker is accepted with, and the text of its progress event.
func NoWorker(pool string) string {
	return fmt.Sprintf("no worker serves pool %s: the task waits in the queue until one starts (amf worker --pool %s)", pool, pool)
}

// CheckProfile refuses a task naming a profile no worker serves (see
// checkOffers), for a caller to say so before it refuses the task for a
// missing grant: a profile that does not exist is the cause to fix.
func (c *Client) CheckProfile(ctx context.Context, t bus.Task) error {
	if c.Offers == nil {
		return bus.CheckProfile(t, nil, nil)
	}
	_, err := c.checkOffers(ctx, t)
	if err != nil && t.Workspace != "" {
		// Only the profile is in question here.
		t.Workspace = ""
		_, err = c.checkOffers(ctx, t)
	}
	return err
}
