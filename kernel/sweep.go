package kernel

import (
	"context"
	"sync"
	"time"
)

// sweeper runs one job of the kernel's every period, off the task path,
// until stopped.
type sweeper struct {
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// sweep starts job every period; the first run is one period after.
func sweep(every time.Duration, job func(ctx context.Context)) *sweeper {
	ctx, cancel := context.WithCancel(context.Background())
	sw := &sweeper{stop: cancel}
	sw.wg.Add(1)
	go func() {
		defer sw.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			job(ctx)
		}
	}()
	return sw
}

// Stop ends the sweeps and waits for the one under way; a nil sweeper
// is stopped.
func (sw *sweeper) Stop() {
	if sw == nil {
		return
	}
	sw.stop()
	sw.wg.Wait()
}
