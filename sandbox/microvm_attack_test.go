//go:build linux

package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The namespace backend's seccomp filter denies new namespaces; in the
// guest nothing does, so without more a command gets user namespaces and,
// as root in them, the kernel interfaces they open to unprivileged users
// (mounts, netfilter, ...): the guest kernel's largest attack surface on
// the way to root in the guest, whose next step is QEMU, running as root
// on the host. Each line is one attempt that must fail.
func TestAttackMicroVMUserNamespaces(t *testing.T) {
	t.Parallel()
	script := `t() { n=$1; shift; if ( "$@" ) >/dev/null 2>&1; then echo "ESCAPED $n"; else echo "held $n"; fi; }
t userns unshare --user --map-root-user true
t userns-mount unshare --user --map-root-user --mount mount -t tmpfs x /tmp
t userns-net unshare --user --map-root-user --net ip link set lo up
echo done`
	res, out := microVMRun(t, Spec{Command: script})
	if res.ExitCode != 0 || !strings.Contains(out, "stdout: done") {
		t.Fatalf("the battery did not run to its end: exit %d", res.ExitCode)
	}
	if n := strings.Count(out, "stdout: held "); n != 3 {
		t.Errorf("%d attempts held, want 3", n)
	}
	if strings.Contains(out, "ESCAPED") {
		t.Errorf("an attempt succeeded:\n%s", out)
	}
}

// Work dirs of the micro-VM backend are host tmpfs (RAM) like the
// namespace backend's, and a session keeps its own; the runner as a whole
// must stay within work_dir.max_dirs (and total_mib), or one submitter
// naming many sessions holds the host's memory. A runner allowed one
// work dir runs a command in each of two: the second must either free
// the first (idle) or be refused with ErrWorkDirBudget.
func TestAttackMicroVMWorkDirBudget(t *testing.T) {
	t.Parallel()
	shared := microVMRunner(t)
	pf := filepath.Join(t.TempDir(), "profiles.yaml")
	if err := os.WriteFile(pf, []byte(escapeProfiles), 0o644); err != nil {
		t.Fatal(err)
	}
	lim := microVMLimits
	lim.WorkDirMax = 1
	// The shared runner's state dir holds the assembled guest image;
	// no warm guests: each command boots one.
	r, err := NewMicroVM(Config{StateDir: shared.cfg.StateDir, ProfilesFile: pf, Limits: lim,
		MicroVM: MicroVMConfig{Accel: "tcg", WarmGuests: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	root := t.TempDir()
	dirs := []string{filepath.Join(root, "session-a"), filepath.Join(root, "session-b")}
	for _, d := range dirs {
		defer r.Release(d)
	}
	for _, d := range dirs {
		var c collector
		res, err := r.Run(t.Context(), Spec{Command: "head -c 4M /dev/zero > fill; echo filled", WorkDir: d, Timeout: 2 * time.Minute}, c.out)
		if errors.Is(err, ErrWorkDirBudget) {
			t.Logf("refused in %s: %v", d, err)
			continue
		}
		if err != nil {
			t.Fatalf("run in %s: %v", d, err)
		}
		if res.ExitCode != 0 || !strings.Contains(c.text(), "stdout: filled") {
			t.Fatalf("run in %s: %+v\n%s", d, res, c.text())
		}
	}
	held := 0
	for _, d := range dirs {
		if isMountPoint(t, d) {
			held++
		}
	}
	if held > lim.WorkDirMax {
		t.Errorf("the runner holds %d work dir file systems, its work_dir.max_dirs is %d", held, lim.WorkDirMax)
	}
}

// isMountPoint says whether dir is on another file system than its parent.
func isMountPoint(t *testing.T, dir string) bool {
	t.Helper()
	var st, pst syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return false
	}
	if err := syscall.Stat(filepath.Dir(dir), &pst); err != nil {
		t.Fatal(err)
	}
	return st.Dev != pst.Dev
}
