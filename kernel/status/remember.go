package status

import "github.com/amf-os/amf/kernel/bus"

// What the projector remembers. It keeps the status of the tasks it saw
// last (Remember of them) to fold their next events without reading the
// cache and to rewrite them when the cache comes back empty. A task that
// ended changes no more, so only its id is kept: its status is in the
// cache, and rebuilt from its events if the cache lost it. Its
// instruction, command and answer (kilobytes each, at times) are not
// held for every task of a load long after the load, and the map that
// held them is made anew once idle, since a Go map keeps the size it
// once had.

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

// compact makes known and order anew when most of what they once held
// is gone; called while idle.
func (p *StatusProjector) compact() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dropped < len(p.known) && cap(p.order) <= 2*len(p.order)+64 {
		return
	}
	known := make(map[string]*bus.Status, len(p.known))
	for id, s := range p.known {
		known[id] = s
	}
	p.known, p.dropped = known, 0
	p.order = append([]string(nil), p.order...)
}
