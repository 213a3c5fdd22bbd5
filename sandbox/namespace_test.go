//go:build linux

package sandbox

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

// collector gathers a command's output lines.
type collector struct {
	mu    sync.Mutex
	lines []string
}

func (c *collector) out(s Stream, line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, s.String()+": "+line)
}

func (c *collector) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

func newTestRunner(t *testing.T, lim Limits) *NamespaceRunner {
	t.Helper()
	testenv.NeedRoot(t)
	r, err := New(Config{StateDir: t.TempDir(), Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// run runs cmd under profile and returns the result and output.
func run(t *testing.T, r Runner, profile, cmd string, timeout time.Duration) (Result, string) {
	t.Helper()
	var c collector
	res, err := r.Run(context.Background(), Spec{Command: cmd, Profile: profile, Timeout: timeout}, c.out)
	if err != nil {
		t.Fatalf("%q: %v", cmd, err)
	}
	return res, c.text()
}

func TestNamespaceRunsCommand(t *testing.T) {
	r := newTestRunner(t, Limits{})
	res, out := run(t, r, "", "id; hostname; pwd; echo to-stderr >&2; exit 3", 10*time.Second)
	t.Logf("result %+v\n%s", res, out)
	if res.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", res.ExitCode)
	}
	for _, want := range []string{"uid=1000(amf)", "amf-sandbox", "stdout: /work", "stderr: to-stderr"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// A command that starts with "-" is a command, not an option of bash.
func TestCommandStartingWithDash(t *testing.T) {
	ns := escapeRunner(t, Limits{})
	host, err := NewHost(Config{StateDir: t.TempDir(), ProfilesFile: ns.cfg.ProfilesFile})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []Runner{ns, host} {
		for _, cmd := range []string{"--version", "-", "-c"} {
			res, out := run(t, r, "", cmd, 10*time.Second)
			if res.ExitCode != 127 || !strings.Contains(out, cmd+": ") || strings.Contains(out, "option") {
				t.Errorf("%s: %q ran as bash options: exit %d\n%s", r.Name(), cmd, res.ExitCode, out)
			}
		}
	}
}
