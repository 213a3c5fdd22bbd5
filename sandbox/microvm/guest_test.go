//go:build linux

package microvm

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/testenv"
)

// testImage assembles the guest image for this test binary once per
// test.
func testImage(t *testing.T) (*Image, string) {
	t.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		testenv.Skip(t, "qemu-system-x86_64 missing: install qemu-system-x86 (just deps)")
	}
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	img, err := Assemble(dir, self, "")
	if err != nil {
		t.Fatal(err)
	}
	return img, dir
}

var testTask = Task{UID: 1800001000, GID: 1800001000, Memory: 256 << 20, Processes: 64, CPUs: 1,
	CPUTime: 10, FileSize: 1 << 20, OpenFiles: 64, Tmp: 1 << 20}

// One boot: the agent runs a command as the unprivileged user, with the
// host's /usr, and streams both output streams and the exit status.
func TestBootAndRun(t *testing.T) {
	img, dir := testImage(t)
	gs := GuestSpec{Image: img, Launcher: &QEMU{Accel: AccelTCG}, MemoryMiB: 384, CPUs: 1, Dir: dir}
	g, err := Boot(context.Background(), gs)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	t.Logf("booted under TCG in %v", g.BootTime)
	os.WriteFile(g.Share+"/from-host", []byte("host data\n"), 0o644)
	os.Chown(g.Share, testTask.UID, testTask.GID)
	task := testTask
	task.Command = "echo hi; id -u; cat from-host; echo oops >&2; echo made > made; exit 7"
	var stdout, stderr strings.Builder
	ex, err := g.Run(context.Background(), task, func(isOut bool, b []byte) {
		if isOut {
			stdout.Write(b)
		} else {
			stderr.Write(b)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stdout.String(), "hi\n1800001000\nhost data\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got, want := stderr.String(), "oops\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if ex.Code != 7 {
		t.Errorf("exit %+v, want code 7", ex)
	}
	if b, err := os.ReadFile(g.Share + "/made"); err != nil || string(b) != "made\n" {
		t.Errorf("file written in the guest's work dir: %q, %v", b, err)
	}
	if _, err := g.Run(context.Background(), task, func(bool, []byte) {}); err == nil {
		t.Error("a guest ran a second task")
	}
}
