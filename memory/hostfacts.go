package memory

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"

	"github.com/amf-os/amf/kernel/bus"
)

// HostFacts describe a host; see bus.HostFacts.
type HostFacts = bus.HostFacts

// DetectHostFacts describes this host: its OS and its distribution's
// os-release ID. Tools is left nil, meaning "look each tool up on PATH".
func DetectHostFacts() HostFacts {
	return HostFacts{OS: runtime.GOOS, Distro: osReleaseID("/etc/os-release")}
}

func osReleaseID(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "ID="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// fits says whether a command learned on `learned` can be expected to
// work on `here`, and if not, why. Unknown facts on either side do not
// disqualify; a tool is present when here.Tools lists it or, when
// here.Tools is nil, when it is on this process's PATH.
func fits(learned, here HostFacts) (bool, string) {
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
