package client

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

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
	ws, cached, err := c.liveWorkers(ctx, t.Pool, false)
	if err != nil {
		return "", nil
	}
	warning, err = judgeOffers(t, ws)
	if err != nil && cached {
		// A refusal is judged on a fresh read: a worker that just
		// started may serve what the last read lacked.
		if ws, _, rerr := c.liveWorkers(ctx, t.Pool, true); rerr == nil {
			warning, err = judgeOffers(t, ws)
		}
	}
	return warning, err
}

// judgeOffers is checkOffers on a list of live workers.
func judgeOffers(t bus.Task, ws []bus.WorkerInfo) (warning string, err error) {
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

// offersFresh is how long a read of the live workers serves submissions:
// reading them streams the heartbeat bucket, too dear for every task. A
// worker that started within it may be missed (a warning it need not
// have) and one that stopped still counted.
const offersFresh = time.Second

// offersCache is the live workers as last read.
type offersCache struct {
	mu   sync.Mutex
	at   time.Time
	list []bus.WorkerInfo
}

// liveWorkers lists the live workers (cached says whether from the last
// read), read at most once per offersFresh unless fresh, while pool has
// one: a pool without is read again each time, so a
// worker that just started is not missed (and nothing is saved when
// the pool's workers are all gone, a case for warnings, not speed).
func (c *Client) liveWorkers(ctx context.Context, pool string, fresh bool) (ws []bus.WorkerInfo, cached bool, err error) {
	c.offers.mu.Lock()
	defer c.offers.mu.Unlock()
	if !fresh && !c.offers.at.IsZero() && time.Since(c.offers.at) < offersFresh &&
		slices.ContainsFunc(c.offers.list, func(w bus.WorkerInfo) bool { return w.Pool == pool }) {
		return c.offers.list, true, nil
	}
	ws, err = c.Offers.Workers(ctx)
	if err != nil {
		return nil, false, err
	}
	c.offers.at, c.offers.list = time.Now(), ws
	return ws, false, nil
}
