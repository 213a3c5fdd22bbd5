//go:build linux

package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

func TestViewEnvironment(t *testing.T) {
	t.Setenv("LANG", "C.utf8")
	t.Setenv("LC_TIME", "POSIX")
	dir := filepath.Join(t.TempDir(), "proj")
	os.Mkdir(dir, 0o755)
	r := newViewRunner(t, Workspace{Name: "proj", Path: dir, Mode: WorkspaceRW})

	_, out := runIn(t, r, "workspace", "proj", `echo "lang=$LANG time=$LC_TIME user=$USER home=$HOME pwd=$PWD"; env | grep -c '^LANG='`)
	// The directory belongs to root here: its owner's name and home.
	want := "lang=C.utf8 time=POSIX user=root home=/root pwd=" + dir
	if !strings.Contains(out, want) || !strings.Contains(out, "stdout: 1") {
		t.Errorf("environment in a workspace: want %q and one LANG, got\n%s", want, out)
	}
	var c collector
	if _, err := r.Run(context.Background(), Spec{Command: `echo "lang=$LANG"`, Profile: "strict", Env: []string{"LANG=fr_FR.UTF-8"}, Timeout: 10 * time.Second}, c.out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.text(), "lang=fr_FR.UTF-8") {
		t.Errorf("a task's LANG does not win over the worker's: %s", c.text())
	}
}

// TestICMPEcho: ping's unprivileged ICMP socket works in every sandbox,
// to loopback at least (ping_group_range in its own network namespace).
func TestICMPEcho(t *testing.T) {
	testenv.NeedBinary(t, "python3")
	r := newViewRunner(t)
	const echo = `python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
s.settimeout(3)
s.sendto(b"\x08\x00\x00\x00\x00\x01\x00\x01amf", ("127.0.0.1", 0))
print("reply type", s.recv(64)[0])'`
	for _, p := range []string{"strict", "observe"} {
		res, out := runIn(t, r, p, "", echo)
		if res.ExitCode != 0 || !strings.Contains(out, "reply type 0") {
			t.Errorf("%s: no ICMP echo reply from loopback (exit %d):\n%s", p, res.ExitCode, out)
		}
	}
}

// TestViewUnprivileged: a runner without root builds the host's view
// from binds and clones a workspace itself, and refuses pids: host. Run as root, it re-runs
// itself as nobody.
func TestViewUnprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		asNobody(t, "TestViewUnprivileged")
		return
	}
	own := os.Getenv("AMF_SANDBOX_TEST_OWN")
	r, err := New(Config{StateDir: os.Getenv("AMF_SANDBOX_TEST_STATE"), Workspaces: []Workspace{{Name: "own", Path: own, Mode: WorkspaceRW}},
		ProfilesFile: confinementProfiles(t, t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The host's view with pids: own (observe's pids: host needs root:
	// TestAttackHostPidsRetunesSpawnerUnprivileged).
	_, out := runIn(t, r, "workspace", "own", "ls -d /usr/share /var/lib; cat /etc/shadow; ls -a /root")
	if !strings.Contains(out, "/var/lib") || strings.Contains(out, "root:") || strings.Contains(out, "Permission denied") {
		t.Errorf("unprivileged host view:\n%s", out)
	}
	if _, err := r.Run(t.Context(), Spec{Command: "true", Profile: "observe"}, nil); !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "pids: host") {
		t.Errorf("observe (pids: host) without root: %v, want it refused", err)
	}
	// And says so to the kernel, which refuses such tasks at submission.
	if why := r.Offer().Unsupported["observe"]; !strings.Contains(why, "pids: host") {
		t.Errorf("the runner offers observe without root: %q", why)
	}
	if why, ok := r.Offer().Unsupported["workspace"]; ok {
		t.Errorf("the runner refuses workspace (pids: own) without root: %q", why)
	}
	res, out := runIn(t, r, "workspace", "own", "pwd; echo hi > note.txt; echo x > /usr/x")
	if b, err := os.ReadFile(filepath.Join(own, "note.txt")); err != nil || string(b) != "hi\n" || !strings.Contains(out, own) || res.ExitCode == 0 {
		t.Errorf("unprivileged rw workspace (exit %d): %q %v\n%s", res.ExitCode, b, err, out)
	}
}
