package workers

import (
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/sandbox"
)

// defaultStrict is a runner whose default profile is strict, as a
// fleet's workers are unless their operator chooses.
type defaultStrict struct{ sandbox.Runner }

func (defaultStrict) Offer() sandbox.Offer { return sandbox.Offer{Default: "strict"} }

// defaultObserve is a runner whose default profile (what a task naming
// none gets) is observe, as under `amf up`.
type defaultObserve struct{ sandbox.Runner }

func (defaultObserve) Offer() sandbox.Offer { return sandbox.Offer{Default: "observe"} }

// A task naming no policy runs where the subject grants the worker's
// default, and is refused elsewhere with what to do about it.
func TestGrantOfATaskNamingNoPolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		runner sandbox.Runner
		policy string // the subject's grant
		ok     bool
	}{
		{"default strict, plain subject", defaultStrict{}, "", true},
		{"default observe, observe subject", defaultObserve{}, "observe", true},
		// The pool's own subject is the kernel's and admins' alone: a
		// client's task reaches it only through the task API, which
		// names the profile it gets (kernel/api TestOwnersOverNATS).
		{"default observe, plain subject", defaultObserve{}, "", true},
		{"default observe, network subject", defaultObserve{}, "network", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &Worker{}
			w.cfg.Pool = bus.DefaultPool
			w.cfg.Runner = tc.runner
			subj := w.cfg.Names.TaskFor(w.cfg.Pool, tc.policy)
			why := w.grantRefusal(subj, bus.Task{})
			if got := why == ""; got != tc.ok {
				t.Fatalf("accepted = %v, want %v (%s)", got, tc.ok, why)
			}
			if !tc.ok && !strings.Contains(why, `"policy"`) {
				t.Errorf("the refusal does not say to name a policy: %s", why)
			}
		})
	}
}
