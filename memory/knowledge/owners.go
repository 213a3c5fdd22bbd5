package knowledge

import (
	"fmt"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// Whose memories an asker sees. A task recalls, for blind replay and as
// examples for its prompt, only its owner's memories and the shared
// ones; a search or a listing sees the same, but for admins and read-all,
// who see every owner's. The flat accelerator applies this rule in its
// scan (flatIndex.scopeOf), chromem-go's filtered search through the
// owner and shared metadata (queryLocked).

// shared reports whether every owner's tasks may recall e: it is the
// installation's (taught by an operator's task, or from before owners
// were recorded), or an admin confirmed it, which vouches for it for
// everyone. Any other memory is its owner's alone.
func (e *entry) shared() bool { return e.Rec.Owner == "" || e.ConfirmedBy != "" }

// sees reports whether a sees e.
func sees(a bus.Access, e *entry) bool {
	return a.SeeAll || a.ActAll || e.shared() || e.Rec.Owner == a.Owner
}

// List returns the newest limit memories a sees (limit ≤ 0 means
// bus.DefaultMemoryList), oldest first, and how many a sees in all.
func (k *Knowledge) List(a bus.Access, limit int) ([]memory.Match, int) {
	if limit <= 0 {
		limit = bus.DefaultMemoryList
	}
	var seen []entry
	for _, e := range k.all() {
		if sees(a, &e) {
			seen = append(seen, e)
		}
	}
	out := make([]memory.Match, 0, min(limit, len(seen)))
	for _, e := range seen[max(0, len(seen)-limit):] {
		out = append(out, k.match(a, &e, 0))
	}
	return hideOwners(a, out), len(seen)
}

// Count is how many memories a sees: the index's size for admins and
// read-all, an owner's own and the shared ones for anyone else, so that
// asking does not tell an owner how many memories the others hold.
func (k *Knowledge) Count(a bus.Access) int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.flat.count(k.flat.scopeOf(a))
}

// hideOwners blanks, for an asker who does not see every owner's work,
// the owner of the shared memories another owner taught (an admin
// confirmed them): whose they were is not theirs to know.
func hideOwners(a bus.Access, ms []memory.Match) []memory.Match {
	if a.SeeAll || a.ActAll {
		return ms
	}
	for i := range ms {
		if ms[i].Owner != a.Owner {
			ms[i].Owner = ""
		}
	}
	return ms
}

// Room says whether owner o's task may teach instruction → command: nil
// when it is a memory o has (one more success) or o is under its quota
// (Config.QuotaPerOwner); else an error wrapping ErrQuota that names the
// limit and the setting that raises it. The index applies the same rule
// to what reaches the stream (roomLocked); a worker asks first, so a full
// owner's successes are not published at all.
func (k *Knowledge) Room(o bus.Owner, instruction, command string) error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.roomLocked(o, bus.MemoryIDOf(o, instruction, command))
}

// roomLocked is Room for the memory id; k.mu is held.
func (k *Knowledge) roomLocked(o bus.Owner, id string) error {
	limit := k.cfg.QuotaPerOwner
	if o == "" || limit < 0 || k.flat.has(id) {
		return nil
	}
	if n := k.flat.holds(o); n >= limit {
		return fmt.Errorf("%w: owner %s has %d memories, the limit is %d (%s; forget some with amf memory forget)",
			ErrQuota, o, n, limit, QuotaPerOwnerSetting)
	}
	return nil
}
