package workers

import (
	"testing"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/sandbox"
)

// defaultObserve is a runner whose default profile (what a task naming
// none gets) is observe, as under `amf up`.
type defaultObserve struct{ sandbox.Runner }

func (defaultObserve) Offer() sandbox.Offer { return sandbox.Offer{Default: "observe"} }

// A task that names no policy passes the grant check as if it asked for
// strict (bus.PolicyAllowed treats "" as the base profile), and the
// runner then gives it its default profile. Under `amf up` that is
// observe — the host's file system and processes — which a token or
// credential without the observe grant is refused when it names it.
func TestAttackNoPolicyGetsUngrantedDefault(t *testing.T) {
	w := &Worker{}
	w.cfg.Pool = bus.DefaultPool
	w.cfg.Runner = defaultObserve{}
	plain := w.cfg.Names.TaskFor(w.cfg.Pool, "")
	if w.grantRefusal(plain, bus.Task{Policy: "observe"}) == "" {
		t.Fatal("precondition: naming observe on the plain subject should be refused")
	}
	if w.grantRefusal(plain, bus.Task{}) == "" {
		t.Errorf("a task naming no policy on %s (no grant) is accepted and runs the worker's default profile %q, which needs a grant when named", plain, w.offer().Default)
	}
}
