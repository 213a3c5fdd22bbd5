package knowledge

import (
	"os/exec"
	"slices"

	"github.com/amf-os/amf/memory"
)

// fits says whether a command learned on `learned` can be expected to
// work on `here`, and if not, why. Unknown facts on either side do not
// disqualify; a tool is present when here.Tools lists it or, when
// here.Tools is nil, when it is on this process's PATH.
func fits(learned, here memory.HostFacts) (bool, string) {
	if learned.OS != "" && here.OS != "" && learned.OS != here.OS {
		return false, "learned on " + learned.OS + ", this host runs " + here.OS
	}
	if learned.Distro != "" && here.Distro != "" && learned.Distro != here.Distro {
		return false, "learned on " + learned.Distro + ", this host runs " + here.Distro
	}
	for _, t := range learned.Tools {
		if here.Tools != nil {
			if !slices.Contains(here.Tools, t) {
				return false, "this host lacks " + t
			}
			continue
		}
		if _, err := exec.LookPath(t); err != nil {
			return false, "this host lacks " + t
		}
	}
	return true, ""
}
