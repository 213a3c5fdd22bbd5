package knowledge

import (
	"context"

	"github.com/amf-os/amf/kernel/bus"
)

// Failed replays. A replay that fails lowers the memory's confidence, and
// below Config.MinConfidence the memory stops being reused blindly. Whose
// view it lowers depends on who failed: the submitter of a task chooses
// its env, files and work dir, so it can make any command fail on
// purpose. A failure counts for every owner only where the failing
// task's owner is everyone the memory serves: an operator's task (owner
// empty), or the owner of a memory no one else recalls. A failure in
// another owner's task — a shared memory (the installation's or one an
// admin confirmed) replayed for one owner — counts in that owner's view
// only: its own recall stops replaying it, everyone else's goes on.

// everyone is the view of those who see every owner's memories.
var everyone = bus.Access{SeeAll: true}

// countsForAll reports whether a failure in a task of owner o lowers e
// in every owner's view.
func countsForAll(e *entry, o bus.Owner) bool {
	return o == "" || (!e.shared() && e.Rec.Owner == o)
}

// failuresFor is how many failures of e count in a's view: those that
// count for all, and a's own. Admins and read-all have no own: an
// owner's failures with a shared memory stop its replay for that owner
// only, so not for the installation's own work either.
func (e *entry) failuresFor(a bus.Access) int {
	if a.SeeAll || a.ActAll {
		return e.Failures
	}
	return e.Failures + e.OwnerFailures[a.Owner]
}

// confidence is the share of reported outcomes that were successes, in
// a's view.
func (e *entry) confidence(a bus.Access) float64 {
	return float64(e.Successes) / float64(e.Successes+e.failuresFor(a))
}

// failLocked applies one failure report; k.mu is held for writing. A
// report on a memory this index does not hold (forgotten, or never
// learned past its owner's quota) changes nothing.
func (k *Knowledge) failLocked(ctx context.Context, f *bus.MemoryFailure) error {
	if !k.flat.has(f.ID) {
		return nil
	}
	e, err := k.getLocked(ctx, f.ID)
	if err != nil {
		return err
	}
	if countsForAll(&e, f.Owner) {
		e.Failures++
	} else {
		if e.OwnerFailures == nil {
			e.OwnerFailures = map[bus.Owner]int{}
		}
		e.OwnerFailures[f.Owner]++
	}
	return k.putLocked(ctx, e)
}
