package bus

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// workspaceRE is a workspace name, as sandbox declares them:
// ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$.
var workspaceRE = nameMatcher{first: alnum, rest: workspaceByte, min: 1, max: 64}

// RuleWorkspace is the rule a task naming a workspace that no worker of
// its pool declares, or that its profile does not allow, is refused by.
const RuleWorkspace = "workspace"

// Offer is what a worker advertises in its heartbeat about the
// workspaces it serves: the declared names and, per profile, which of
// them a task of that profile may name ("*": any).
type Offer struct {
	Workspaces []string            `json:"workspaces,omitempty"`
	Profiles   map[string][]string `json:"profiles,omitempty"`
	// Default is the profile a task naming none gets.
	Default string `json:"default_profile,omitempty"`
	// Unsupported maps a profile to why this worker's backend cannot
	// run it (the micro-VM backend and view host, say).
	Unsupported map[string]string `json:"unsupported,omitempty"`
}

// CheckWorkspace judges a task's workspace against the offers of the
// workers that could take it: nil when one of them would run it, else
// an error naming the workspaces there are. Without offers (no worker
// heard from yet) it does not refuse: the worker will.
func CheckWorkspace(t Task, offers []Offer) error {
	if t.Workspace == "" || len(offers) == 0 {
		return nil
	}
	known := map[string]bool{}
	var why []string
	for _, o := range offers {
		for _, w := range o.Workspaces {
			known[w] = true
		}
		if !slices.Contains(o.Workspaces, t.Workspace) {
			continue
		}
		prof := t.Policy
		if prof == "" {
			prof = o.Default
		}
		allowed, ok := o.Profiles[prof]
		switch {
		case !ok:
			why = append(why, fmt.Sprintf("profile %q is not served", prof))
		case !slices.Contains(allowed, "*") && !slices.Contains(allowed, t.Workspace):
			why = append(why, fmt.Sprintf("profile %q may not use workspace %q (it allows: %s); use a profile that lists it, such as workspace", prof, t.Workspace, orNone(allowed)))
		case o.Unsupported[prof] != "":
			why = append(why, o.Unsupported[prof])
		default:
			return nil
		}
	}
	if len(why) > 0 {
		slices.Sort(why)
		return fmt.Errorf("%w: %s", ErrInvalidTask, slices.Compact(why)[0])
	}
	names := make([]string, 0, len(known))
	for w := range known {
		names = append(names, w)
	}
	sort.Strings(names)
	return fmt.Errorf("%w: unknown workspace %q; pool %q declares: %s", ErrInvalidTask, t.Workspace, t.Pool, orNone(names))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
