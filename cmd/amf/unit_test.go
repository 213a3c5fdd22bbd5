package main

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// unit is a supervised process, as systemd runs the parts
// (deploy/systemd: Restart=on-failure, RestartSec=2s): one that exits
// when no fault was injected is started again, and counted.
type unit struct {
	t     *testing.T
	name  string
	start func() *proc

	mu        sync.Mutex
	p         *proc
	held      bool // stopped on purpose: left down until restart
	unplanned []string
	stop      chan struct{}
}

func supervise(t *testing.T, name string, start func() *proc) *unit {
	u := &unit{t: t, name: name, start: start, stop: make(chan struct{}), p: start()}
	go u.watch(u.p)
	return u
}

func (u *unit) proc() *proc {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.p
}

func (u *unit) watch(p *proc) {
	for {
		select {
		case <-p.done:
		case <-u.stop:
			return
		}
		u.mu.Lock()
		if u.held || u.p != p {
			u.mu.Unlock()
			return
		}
		out := p.Output()
		if i := strings.LastIndex(strings.TrimSpace(out), "\n"); i >= 0 {
			out = out[i+1:]
		}
		u.unplanned = append(u.unplanned, strings.TrimSpace(out))
		u.t.Logf("%s exited by itself (%v), restarting: %s", u.name, p.err, out)
		u.mu.Unlock()
		select {
		case <-time.After(2 * time.Second):
		case <-u.stop:
			return
		}
		u.mu.Lock()
		p = u.start()
		u.p = p
		u.mu.Unlock()
	}
}

// kill SIGKILLs the process and keeps it down until restart.
func (u *unit) kill() {
	u.mu.Lock()
	u.held = true
	p := u.p
	u.mu.Unlock()
	p.kill()
}

func (u *unit) restart() {
	u.mu.Lock()
	u.held = false
	p := u.start()
	u.p = p
	u.mu.Unlock()
	go u.watch(p)
}

// exits are the exits no fault caused.
func (u *unit) exits() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.unplanned...)
}

// halt stops supervising (before the test's cleanup kills the process).
func (u *unit) halt() {
	select {
	case <-u.stop:
	default:
		close(u.stop)
	}
}
