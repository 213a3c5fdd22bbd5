package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"golang.org/x/sys/unix"
)

// Attacks on the runner's /etc template (etctemplate_linux.go): what the
// host's /etc holds when the runner reads it, and what a network
// sandbox's /etc needs from it.

// etcSrc makes a stand-in for the host's /etc, readable by anyone.
func etcSrc(t *testing.T) string {
	t.Helper()
	src, err := os.MkdirTemp("", "etc-src-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(src) })
	if err := os.Chmod(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "services"), []byte("ssh 22/tcp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return src
}

// TestEtcTemplateAttackFIFOHangsRunner: a FIFO (or any file whose read
// blocks) under one of the names the template copies makes the runner's
// read of the host's /etc block for good, with the template's lock held:
// the first template is never made, and on a recheck every later spawn of
// every profile waits on that lock. When each init read /etc itself, the
// block was that init's alone. The read must not block: open with
// O_NONBLOCK|O_NOFOLLOW, copy regular files only, at most the size limit.
func TestEtcTemplateAttackFIFOHangsRunner(t *testing.T) {
	testenv.NeedRoot(t)
	src := etcSrc(t)
	fifo := filepath.Join(src, "gitconfig")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	const id = 1_900_000_000
	done := make(chan error, 1)
	var tm *etcTemplate
	go func() {
		var err error
		tm, err = newEtcTemplate(src, id, id)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			defer tm.close()
		}
	case <-time.After(5 * time.Second):
		t.Errorf("reading a host /etc holding a FIFO (%s) blocks the runner for good, template lock held", fifo)
		// Release the blocked reader: a writer that opens and closes.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		if err := <-done; err == nil {
			tm.close()
		}
	}
}

// TestEtcTemplateAttackNetworkNeedsNoHostResolvConf: a command with a
// network gets the sandbox's own nameserver in /etc/resolv.conf whatever
// the host's is. An init filling /etc itself wrote it fresh; from the
// template it goes over the host's copy, and when the host has none the
// init can read (none at all, a dangling link such as a stopped
// resolver's stub file, one readable by root alone), every command of a
// network profile fails to start.
func TestEtcTemplateAttackNetworkNeedsNoHostResolvConf(t *testing.T) {
	r := netRunner(t, "")
	if r.etc == nil {
		t.Fatal("the runner made no /etc template")
	}
	src := etcSrc(t)
	// A resolver's stub file that is not there (resolver stopped).
	if err := os.Symlink("/run/amf-test-no-resolver/stub-resolv.conf", filepath.Join(src, "resolv.conf")); err != nil {
		t.Fatal(err)
	}
	tm, err := newEtcTemplate(src, int(r.idBase), int(r.idBase))
	if err != nil {
		t.Fatal(err)
	}
	// Fresh inits only, all from this template.
	r.cancel()
	r.wg.Wait()
	for _, pool := range []chan *initProc{r.warm, r.warmNet} {
		for len(pool) > 0 {
			r.discard(<-pool)
		}
	}
	old := r.etc
	r.etc = tm
	t.Cleanup(func() { r.etc = old; tm.close() })
	var c collector
	res, err := r.Run(t.Context(), Spec{Command: "cat /etc/resolv.conf", Profile: "bare-net", Timeout: 20 * time.Second}, c.out)
	if err != nil || res.ExitCode != 0 || !strings.Contains(c.text(), "nameserver 10.") {
		t.Errorf("a network command on a host without a readable resolv.conf: exit %d, %v\n%s", res.ExitCode, err, c.text())
	}
}

// etcRootHelperEnv, when set to a directory, makes this test binary act
// as the root of a sandbox's user namespace holding its /etc at fd 3, as
// an init holds it before it drops its capabilities: it attaches the
// mount there, clears its read-only flag, and rewrites bash.bashrc.
const etcRootHelperEnv = "AMF_TEST_ETC_SANDBOX_ROOT"

func init() {
	dir := os.Getenv(etcRootHelperEnv)
	if dir == "" {
		return
	}
	step := func(what string, err error) {
		if err != nil {
			os.Stderr.WriteString(what + ": " + err.Error() + "\n")
			os.Exit(1)
		}
	}
	// A root of its own, as an init builds before attaching its /etc.
	step("root", unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"))
	dir = filepath.Join(dir, "etc")
	step("make /etc", os.Mkdir(dir, 0o755))
	step("attach", unix.MoveMount(3, "", unix.AT_FDCWD, dir, unix.MOVE_MOUNT_F_EMPTY_PATH))
	step("make writable", unix.MountSetattr(unix.AT_FDCWD, dir, 0, &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}))
	step("rewrite", os.WriteFile(filepath.Join(dir, "bash.bashrc"), []byte("echo OWNED-BY-ANOTHER-SANDBOX\n"), 0o644))
	os.Exit(0)
}

// TestEtcTemplateAttackSandboxRootRewritesEveryonesEtc: every command's
// /etc is a mount of one tmpfs whose file system is writable; only each
// mount's read-only flag, which the kernel does not lock (move_mount of
// a detached tree into the init's namespace sets no MNT_LOCK_*), stands
// between it and the files every later command of every owner reads.
// Whoever is root in one sandbox's user namespace with its capabilities
// (the init until it drops them, or a command through any future hole in
// the capability drop or the seccomp filter) clears the flag and rewrites
// /etc for all sandboxes: when each init wrote its own /etc that reached
// its own sandbox alone. The template's file system itself must be
// read-only once filled (fspick + fsconfig "ro" + FSCONFIG_CMD_RECONFIGURE
// by the runner, which no sandbox can undo), so no mount of it can write.
func TestEtcTemplateAttackSandboxRootRewritesEveryonesEtc(t *testing.T) {
	r := escapeRunner(t, Limits{})
	if r.etc == nil {
		t.Fatal("the runner made no /etc template")
	}
	attempt(t, r, "a first command", "true")
	clone, err := r.etc.mount() // what one init gets
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "etc-root-") // a path the sandbox's ids reach
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/proc/self/exe", "-test.run=^$") // the test binary, wherever its directory
	cmd.Env = append(os.Environ(), etcRootHelperEnv+"="+dir)
	cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(clone), "etc")}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		Credential:  &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(r.idBase), Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(r.idBase), Size: 65536}},
	}
	out, err := cmd.CombinedOutput()
	cmd.ExtraFiles[0].Close()
	t.Logf("sandbox root on its /etc: %v %s", err, out)
	res, seen := attempt(t, r, "a later command of another task", "cat /etc/bash.bashrc")
	if res.ExitCode == 0 && strings.Contains(seen, "OWNED-BY-ANOTHER-SANDBOX") {
		t.Errorf("root of one sandbox's user namespace rewrote the /etc of a later, unrelated command:\n%s", seen)
	}
	if err == nil {
		t.Errorf("root of one sandbox's user namespace made its /etc writable and wrote the shared template")
	}
}
