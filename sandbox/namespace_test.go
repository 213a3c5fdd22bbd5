//go:build linux

package sandbox

import (
	"context"
	"os"
	"path/filepath"
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

// Work dirs a stopped worker left behind, setuid files and links to host
// secrets included, are removed at start.
func TestRemoveStaleWorkDirs(t *testing.T) {
	root := filepath.Join(t.TempDir(), "work")
	old := filepath.Join(root, "session-old")
	if err := os.MkdirAll(filepath.Join(old, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(old, "left"), []byte("x"), 0o4755)
	os.Chmod(filepath.Join(old, "left"), 0o4755|os.ModeSetuid)
	os.Symlink("/etc/shadow", filepath.Join(old, "shadow"))
	os.Mkdir(filepath.Join(root, "task-1"), 0o755)
	n, err := RemoveStaleWorkDirs(root)
	if err != nil || n != 2 {
		t.Fatalf("removed %d, %v; want 2", n, err)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Errorf("%d entries left", len(ents))
	}
	if _, err := os.Stat("/etc/shadow"); err != nil && !os.IsNotExist(err) {
		t.Errorf("the link's target was touched: %v", err)
	}
	if n, err := RemoveStaleWorkDirs(filepath.Join(t.TempDir(), "none")); n != 0 || err != nil {
		t.Errorf("a missing root: %d, %v", n, err)
	}
}

// A session's work dir unused for longer than the TTL is freed: its
// files and its host directory are gone.
func TestWorkDirTTL(t *testing.T) {
	r := newTestRunner(t, Limits{WorkDirTTL: time.Millisecond})
	old, other := filepath.Join(t.TempDir(), "session-a"), filepath.Join(t.TempDir(), "session-b")
	if res, _ := run(t, r, "", "true", 10*time.Second); res.ExitCode != 0 {
		t.Fatal("run failed")
	}
	if _, err := r.Run(context.Background(), Spec{Command: "echo kept > note", WorkDir: old}, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	r.workdirs.mu.Lock()
	r.workdirs.tick = time.Time{} // sweeps are at most once a minute
	r.workdirs.mu.Unlock()
	if _, err := r.Run(context.Background(), Spec{Command: "true", WorkDir: other}, nil); err != nil {
		t.Fatal(err)
	}
	r.workdirs.mu.Lock()
	_, held := r.workdirs.fs[old]
	r.workdirs.mu.Unlock()
	if held {
		t.Errorf("the idle work dir is still held")
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the idle work dir's host directory is still there: %v", err)
	}
	var c collector
	if _, err := r.Run(context.Background(), Spec{Command: "ls", WorkDir: old}, c.out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.text(), "note") {
		t.Errorf("a freed work dir kept its files")
	}
}
