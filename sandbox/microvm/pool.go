//go:build linux

package microvm

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Pool keeps guests booted ahead of need, so a command does not wait
// for a boot. Each of its Size booters holds at most one booted guest
// until someone takes it, then boots the next. A guest serves one
// command and is destroyed (Guest.Close), never returned.
type Pool struct {
	spec   GuestSpec
	size   int
	ready  chan booted
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ctx    context.Context
	// waiting counts booted guests held by booters, not yet taken.
	waiting atomic.Int32
	// OnBoot, when set before Start, is called after every boot.
	OnBoot func(g *Guest, err error)
}

type booted struct {
	g   *Guest
	err error
}

// NewPool returns a pool of size booters; Start begins booting. Size 0
// boots every guest when it is asked for.
func NewPool(spec GuestSpec, size int) *Pool {
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{spec: spec, size: size, ready: make(chan booted), ctx: ctx, cancel: cancel}
}

// Start starts the booters.
func (p *Pool) Start() {
	p.wg.Add(p.size)
	for range p.size {
		go p.booter()
	}
}

func (p *Pool) booter() {
	defer p.wg.Done()
	failed := 0
	for p.ctx.Err() == nil {
		g, err := Boot(p.ctx, p.spec)
		if p.OnBoot != nil && p.ctx.Err() == nil {
			p.OnBoot(g, err)
		}
		if err != nil {
			failed++
			// One failed boot is retried at once (an emulated boot on
			// a loaded host can miss its deadline); a second in a row
			// is reported to whoever waits for a guest.
			if failed < 2 {
				continue
			}
		} else {
			failed = 0
			p.waiting.Add(1)
		}
		select {
		case p.ready <- booted{g, err}:
			if err == nil {
				p.waiting.Add(-1)
			}
		case <-p.ctx.Done():
			if g != nil {
				g.Close()
			}
			return
		}
		if err != nil {
			// Do not spin on a host that cannot boot guests.
			select {
			case <-time.After(time.Second):
			case <-p.ctx.Done():
			}
		}
	}
}

// Get returns a booted guest from the pool, waiting for one to finish
// booting if none is ready; a pool of size 0 boots one now.
func (p *Pool) Get(ctx context.Context) (*Guest, error) {
	if p.size == 0 {
		return Boot(ctx, p.spec)
	}
	select {
	case b := <-p.ready:
		return b.g, b.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.ctx.Done():
		return nil, ErrClosed
	}
}

// Waiting is how many booted guests wait to be taken.
func (p *Pool) Waiting() int { return int(p.waiting.Load()) }

// Close stops booting and destroys the guests that were waiting.
func (p *Pool) Close() {
	p.cancel()
	p.wg.Wait()
}
