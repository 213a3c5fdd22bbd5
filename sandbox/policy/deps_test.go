package policy

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPureGo keeps the checker free of Linux-only and execution code, so
// the kernel and the bridge can link it: it builds for other systems
// and depends on nothing of the sandbox that runs commands.
func TestPureGo(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(os.Environ(), "GOOS="+goos)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("GOOS=%s go list -deps: %v\n%s", goos, err, out)
		}
		for _, d := range strings.Fields(string(out)) {
			switch {
			case d == "github.com/amf-os/amf/sandbox",
				strings.HasPrefix(d, "golang.org/x/sys/unix"),
				strings.HasPrefix(d, "github.com/vishvananda/"),
				strings.HasPrefix(d, "github.com/amf-os/amf/") && d != "github.com/amf-os/amf/sandbox/policy":
				t.Errorf("GOOS=%s: the checker depends on %s", goos, d)
			}
		}
	}
}
