package bus

import (
	"fmt"
	"slices"
	"sort"

	"github.com/amf-os/amf/sandbox/policy"
)

// RuleProfile is the rule a task asking for a sandbox profile that no
// worker serves is refused by, at submission.
const RuleProfile = "profile"

// CheckProfile refuses a task naming a profile that no worker could run
// it under, naming the profiles there are. Served are the offers of the
// workers that could take it (its pool's); fleet the offers of every
// live worker, used when none of its pool reported one (a pool waiting
// for its workers still takes tasks the fleet's profiles can run).
// Without any offer, the built-in profiles are the ones there are.
func CheckProfile(t Task, served, fleet []Offer) error {
	if t.Policy == "" {
		return nil
	}
	offers := served
	if len(offers) == 0 {
		offers = fleet
	}
	known := map[string]bool{}
	for _, o := range offers {
		for p := range o.Profiles {
			known[p] = true
		}
	}
	if len(known) == 0 {
		for _, p := range policy.DefaultPolicy().Names() {
			known[p] = true
		}
	}
	if known[t.Policy] {
		return nil
	}
	names := make([]string, 0, len(known))
	for p := range known {
		names = append(names, p)
	}
	sort.Strings(names)
	return fmt.Errorf("%w: %s: unknown profile %q; the profiles there are: %s (set \"policy\" to one of them, or leave it out for the worker's default)",
		ErrInvalidTask, RuleProfile, t.Policy, orNone(slices.Compact(names)))
}
