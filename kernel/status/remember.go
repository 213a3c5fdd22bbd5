package status

import (
	"strings"

	"github.com/amf-os/amf/kernel/bus"
)

// What the projector remembers. It keeps the status of the tasks it saw
// last (Remember of them) to fold their next events without reading the
// cache and to rewrite them when the cache comes back empty. A task that
// ended changes no more, so only its id is kept: its status is in the
// cache, and rebuilt from its events if the cache lost it. Its
// instruction, command and answer (kilobytes each, at times) are not
// held for every task of a load long after the load. Once idle after a
// load, the map and the ids are made anew: a Go map keeps the size it once
// had, and ids allocated one by one among a load's garbage would each keep
// a page of the heap from being returned.

// compactAfter is how many tasks the projector takes in before, once
// idle, it makes what it remembers anew.
const compactAfter = 1000

// remember keeps s as id's status; seen says id is remembered already
// (as ended), so it keeps its place in the order.
func (p *StatusProjector) remember(id string, s *bus.Status, seen bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.known[id] = s
	if seen {
		return
	}
	p.order = append(p.order, id)
	p.taken++
	if len(p.order) > p.Remember {
		delete(p.known, p.order[0])
		p.order = p.order[1:]
		p.dropped++
	}
}

// ended forgets an ended task's status, keeping its id.
func (p *StatusProjector) ended(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.known[id]; ok {
		p.known[id] = nil
	}
}

// compact makes known and order anew after a load, or when most of what
// they once held is gone; called while idle.
func (p *StatusProjector) compact() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taken < compactAfter && p.dropped < len(p.known) {
		return
	}
	known := make(map[string]*bus.Status, len(p.known))
	order := make([]string, 0, len(p.order))
	for _, id := range p.order {
		kept := strings.Clone(id)
		known[kept] = p.known[id]
		order = append(order, kept)
	}
	p.known, p.order, p.dropped, p.taken = known, order, 0, 0
}
