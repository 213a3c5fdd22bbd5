package workers

import (
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/sandbox"
)

// offerer is implemented by runners that declare workspaces and profiles
// (the sandbox package's runners do).
type offerer interface {
	Offer() sandbox.Offer
}

// offer is what the heartbeat says this worker serves, so that the
// kernel and bridge refuse at submission a task naming a workspace no
// worker of the pool would run.
func (w *Worker) offer() *bus.Offer {
	o, ok := w.cfg.Runner.(offerer)
	if !ok {
		return nil
	}
	s := o.Offer()
	return &bus.Offer{Workspaces: s.Workspaces, Profiles: s.Profiles, Default: s.Default, Unsupported: s.Unsupported}
}
