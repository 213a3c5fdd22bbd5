//go:build linux

package sandbox

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/kerneltest"
	"golang.org/x/sys/unix"
)

// The escape tests run hostile commands with validation reduced to the
// syntax check, so that only the confinement stands between them and the
// host. Each attempt must fail and leave the host as it was.

const escapeProfiles = `default: bare
profiles:
  bare:
    description: syntax only, to test the confinement alone
    network: false
    rules: [syntax]
`

func escapeRunner(t *testing.T, lim Limits) *NamespaceRunner {
	t.Helper()
	testenv.NeedRoot(t)
	pf := filepath.Join(t.TempDir(), "profiles.yaml")
	if err := os.WriteFile(pf, []byte(escapeProfiles), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{StateDir: t.TempDir(), ProfilesFile: pf, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// attempt runs one escape attempt and logs it.
func attempt(t *testing.T, r *NamespaceRunner, what, cmd string, spec ...Spec) (Result, string) {
	t.Helper()
	s := Spec{Command: cmd, Timeout: 20 * time.Second}
	if len(spec) > 0 {
		s = spec[0]
		s.Command = cmd
	}
	var c collector
	res, err := r.Run(t.Context(), s, c.out)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Logf("tried %s: %q → exit %d %s\n%s", what, cmd, res.ExitCode, res.LimitHit, c.text())
	return res, c.text()
}

// inWorkFS returns a host path to name in the work dir's own file system,
// which is never attached to the host's tree: through the descriptor the
// runner holds.
func inWorkFS(t *testing.T, r *NamespaceRunner, work, name string) string {
	t.Helper()
	fs, err := r.workdirs.acquire(work)
	if err != nil {
		t.Fatal(err)
	}
	r.workdirs.done(fs)
	return fmt.Sprintf("/proc/%d/fd/%d/%s", os.Getpid(), fs.fd, name)
}

func canary(t *testing.T, dir string) (path, secret string) {
	t.Helper()
	secret = "canary-" + newID()
	f, err := os.CreateTemp(dir, "amf-canary-*")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(secret)
	f.Close()
	t.Cleanup(func() { os.Remove(f.Name()) })
	return f.Name(), secret
}

func TestEscapeReadHostCanaries(t *testing.T) {
	state := t.TempDir()
	r := escapeRunner(t, Limits{})
	r.cfg.StateDir = state
	for _, dir := range []string{os.TempDir(), "/root", state} {
		p, secret := canary(t, dir)
		res, out := attempt(t, r, "reading a host canary in "+dir, "cat "+p+"; cat /proc/1/root"+p+"; cat ../../"+filepath.Base(p))
		if strings.Contains(out, secret) {
			t.Errorf("canary %s was read from inside", p)
		}
		if res.ExitCode == 0 {
			t.Errorf("reading %s succeeded", p)
		}
	}
}

func TestEscapeWriteOutsideWorkDir(t *testing.T) {
	r := escapeRunner(t, Limits{})
	exe, _ := os.Executable()
	name := "amf-pwn-" + newID()
	targets := []string{"/" + name, "/usr/" + name, "/etc/" + name, "/bin/" + name, "/var/" + name, "/proc/" + name}
	var cmd []string
	for _, p := range targets {
		cmd = append(cmd, "echo pwned > "+p)
	}
	cmd = append(cmd, "echo pwned >> "+exe, "echo pwned >> /usr/bin/env", "echo pwned > /work/ok")
	res, _ := attempt(t, r, "writing outside the work dir and into the worker binary", strings.Join(cmd, "; "))
	if res.ExitCode != 0 {
		t.Errorf("writing the work dir itself failed (exit %d)", res.ExitCode)
	}
	for _, p := range targets {
		if _, err := os.Stat(p); err == nil {
			os.Remove(p)
			t.Errorf("%s was created on the host", p)
		}
	}
	for _, bin := range []string{exe, "/usr/bin/env"} {
		if b, _ := os.ReadFile(bin); strings.Contains(string(b[max(0, len(b)-16):]), "pwned") {
			t.Errorf("%s was written", bin)
		}
	}
}

func TestEscapeHostProcesses(t *testing.T) {
	r := escapeRunner(t, Limits{})
	_, out := attempt(t, r, "listing host processes", "ls /proc | grep -c '^[0-9]'; ps -e | wc -l")
	lines := strings.Fields(out)
	if len(lines) < 2 || lines[1] != "5" && atoi64(strings.TrimPrefix(lines[1], "stdout:")) > 8 {
		t.Logf("fields: %v", lines)
	}
	for _, l := range strings.Split(out, "\n") {
		if n := atoi64(strings.TrimPrefix(l, "stdout: ")); n > 8 {
			t.Errorf("sandbox sees %d processes: host pids are visible", n)
		}
	}
	res, _ := attempt(t, r, "signalling the host test process", fmt.Sprintf("kill -9 %d", os.Getpid()))
	if res.ExitCode == 0 {
		t.Errorf("kill of a host pid succeeded")
	}
}

func TestEscapeKernelInterfaces(t *testing.T) {
	r := escapeRunner(t, Limits{})
	cases := []struct{ what, cmd string }{
		{"mount tmpfs", "mount -t tmpfs none /tmp"},
		{"umount /proc", "umount -l /proc"},
		{"mount syscall", `perl -e 'my ($s, $d, $t) = ("none", "/tmp", "tmpfs"); exit(syscall(165, $s, $d, $t, 0, 0) == -1 ? 1 : 0)'`},
		{"nested user namespace", "unshare -U -r true"},
		{"nested namespaces by clone flags", `perl -e 'exit(syscall(56, 0x10000000|17, 0, 0, 0, 0) == -1 ? 1 : 0)'`},
		{"mknod block device", "mknod /tmp/sda b 8 0"},
		{"mknod char device in work dir", "mknod /work/mem c 1 1"},
		{"read /proc/kcore", "head -c 16 /proc/kcore"},
		{"write /proc/sysrq-trigger", "echo h > /proc/sysrq-trigger"},
		{"write a sysctl", "echo 1 > /proc/sys/kernel/sysrq"},
		{"chroot escape", `mkdir -p x && perl -e 'chroot("x") or exit 1; exit 0'`},
		{"setns into host pid namespace", "nsenter -t 1 -m true"},
		{"bpf", `perl -e 'exit(syscall(321, 0, 0, 0) == -1 ? 1 : 0)'`},
		{"io_uring", `perl -e 'exit(syscall(425, 1, 0) == -1 ? 1 : 0)'`},
		{"keyctl", `perl -e 'exit(syscall(250, 0, 0, 0, 0, 0) == -1 ? 1 : 0)'`},
		{"raw socket", `perl -e 'use Socket; socket(my $s, PF_INET, SOCK_RAW, 1) or exit 1; exit 0'`},
	}
	for _, tc := range cases {
		res, _ := attempt(t, r, tc.what, tc.cmd)
		if res.ExitCode == 0 {
			t.Errorf("%s succeeded", tc.what)
		}
	}
	// ptrace separately: PTRACE_TRACEME must return EPERM.
	_, out := attempt(t, r, "ptrace(PTRACE_TRACEME)", `perl -e 'my $r = syscall(101, 0, 0, 0, 0); print "ret=$r err=", $!+0, "\n"'`)
	if !strings.Contains(out, "ret=-1 err=1") {
		t.Errorf("ptrace was not refused with EPERM")
	}
	_, out = attempt(t, r, "injecting terminal input (TIOCSTI)", `perl -e 'my $c = "x"; ioctl(STDIN, 0x5412, $c); print "err=", $!+0, "\n"'`)
	if !strings.Contains(out, "err=1") {
		t.Errorf("TIOCSTI was not refused with EPERM")
	}
	_, out = attempt(t, r, "reading own privileges", "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status")
	for _, want := range []string{"CapPrm:\t0000000000000000", "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q", want)
		}
	}
}

func TestEscapeNetwork(t *testing.T) {
	r := escapeRunner(t, Limits{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			accepted <- struct{}{}
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	// The kernel's NATS port: a real embedded kernel, as on a worker host.
	k := kerneltest.Start(t)
	natsURL, err := url.Parse(k.NC.ConnectedUrl())
	if err != nil {
		t.Fatal(err)
	}
	natsPort, _ := strconv.Atoi(natsURL.Port())
	ports := []int{port, natsPort}
	for _, p := range ports {
		res, _ := attempt(t, r, fmt.Sprintf("reaching the host's 127.0.0.1:%d (test listener, then the kernel's NATS port)", p), fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d && echo connected", p))
		if res.ExitCode == 0 {
			t.Errorf("connected to host port %d", p)
		}
	}
	res, _ := attempt(t, r, "opening a connection out", "exec 3<>/dev/tcp/1.1.1.1/80 && echo connected")
	if res.ExitCode == 0 {
		t.Errorf("connected out")
	}
	_, out := attempt(t, r, "listing interfaces and routes", "cat /proc/net/dev | tail -n +3 | cut -d: -f1; tail -n +2 /proc/net/route | wc -l")
	if strings.Contains(out, "eth") || !strings.Contains(out, "lo") {
		t.Errorf("interfaces other than lo are visible")
	}
	select {
	case <-accepted:
		t.Errorf("the host listener accepted a connection from the sandbox")
	case <-time.After(100 * time.Millisecond):
	}
}

func TestEscapeForkBomb(t *testing.T) {
	r := escapeRunner(t, Limits{Processes: 64})
	start := time.Now()
	// The shell stays alive as the namespace's init, so the bomb keeps
	// going until a limit or the timeout stops it.
	res, _ := attempt(t, r, "a fork bomb", ":(){ :|:& };:; sleep 2; ps -e | wc -l", Spec{Timeout: 4 * time.Second})
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("fork bomb held the runner for %v", d)
	}
	// The host is still responsive: it can start a process.
	if err := exec.Command("true").Run(); err != nil {
		t.Errorf("host cannot start a process after the fork bomb: %v", err)
	}
	t.Logf("limit hit: %q, unenforced: %v", res.LimitHit, res.Unenforced)
}

func TestEscapeMemoryBomb(t *testing.T) {
	r := escapeRunner(t, Limits{Memory: 128 << 20, AddressSpace: 1 << 30})
	res, _ := attempt(t, r, "a memory bomb", `perl -e '$x = "a" x (900*1024*1024); print length($x), "\n"'`)
	if res.ExitCode == 0 {
		t.Errorf("allocating 900 MiB under a 128 MiB limit succeeded")
	}
	if res.PeakMemKB > 200<<10 {
		t.Errorf("peak memory %d KiB exceeds the limit", res.PeakMemKB)
	}
}

func TestEscapeFillDisks(t *testing.T) {
	r := escapeRunner(t, Limits{Tmp: 8 << 20, FileSize: 16 << 20, WorkDirBytes: 32 << 20, WorkDirInodes: 500})
	work := t.TempDir()
	res, out := attempt(t, r, "filling /tmp", "dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>&1; df -k /tmp | tail -1")
	if res.ExitCode == 0 && !strings.Contains(out, "No space") {
		t.Errorf("filling /tmp was not bounded")
	}
	res, _ = attempt(t, r, "writing one file past the file size limit", "dd if=/dev/zero of=/work/fill bs=1M count=64", Spec{WorkDir: work, Timeout: 20 * time.Second})
	fi, err := os.Stat(inWorkFS(t, r, work, "fill"))
	if err == nil && fi.Size() > 16<<20 {
		t.Errorf("work dir file grew to %d bytes past the 16 MiB limit", fi.Size())
	}
	if res.ExitCode == 0 {
		t.Errorf("writing 64 MiB under a 16 MiB file size limit succeeded")
	}
	// Many files each under the file size limit: the work dir's byte
	// budget stops them, and the result says so.
	res, out = attempt(t, r, "filling the work dir with files under the size limit", "for i in 1 2 3 4 5; do dd if=/dev/zero of=/work/f$i bs=1M count=15 || exit 1; done", Spec{WorkDir: work, Timeout: 20 * time.Second})
	if res.ExitCode == 0 || res.LimitHit != "work_dir_bytes" || !strings.Contains(out, "work_dir.size_mib") {
		t.Errorf("result %+v: want the work dir byte budget named", res)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(inWorkFS(t, r, work, ""), &st); err != nil {
		t.Fatal(err)
	}
	if used := int64(st.Blocks-st.Bfree) * st.Bsize; used > 33<<20 {
		t.Errorf("work dir holds %d bytes past its 32 MiB budget", used)
	}
	attempt(t, r, "emptying the work dir", "rm -f /work/*", Spec{WorkDir: work, Timeout: 20 * time.Second})
	res, out = attempt(t, r, "creating files past the inode budget", "mkdir d && cd d && for i in $(seq 1 2000); do : > f$i || exit 1; done", Spec{WorkDir: work, Timeout: 20 * time.Second})
	if res.ExitCode == 0 || res.LimitHit != "work_dir_inodes" || !strings.Contains(out, "work_dir.inodes") {
		t.Errorf("result %+v: want the work dir inode budget named", res)
	}
	// Nothing was written to the host disk.
	if ents, _ := os.ReadDir(work); len(ents) > 0 {
		t.Errorf("the host work dir holds %d entries", len(ents))
	}
}

func TestEscapeSetuidBinary(t *testing.T) {
	r := escapeRunner(t, Limits{})
	work := t.TempDir()
	id, err := exec.LookPath("id")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(id)
	if err != nil {
		t.Fatal(err)
	}
	// A setuid-root binary put into the work dir from outside.
	suid := inWorkFS(t, r, work, "rootid")
	if err := os.WriteFile(suid, b, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(suid, 0, 0)
	os.Chmod(suid, 0o4755|os.ModeSetuid)
	_, out := attempt(t, r, "running a setuid-root binary from the work dir", "./rootid -u; ls -l rootid", Spec{WorkDir: work, Timeout: 20 * time.Second})
	if !strings.Contains(out, "stdout: 1000") {
		t.Errorf("setuid binary did not run as the sandbox user")
	}
	res, _ := attempt(t, r, "running the host's setuid su", "su -c id root </dev/null")
	if res.ExitCode == 0 {
		t.Errorf("su succeeded")
	}
	// What a sandbox leaves behind is never setuid on the host: its file
	// system is mounted nosuid, and never attached to the host's tree.
	attempt(t, r, "leaving a setuid binary and links to host secrets", "cp /usr/bin/id left && chmod 4755 left; ln -s /etc/shadow shadow; ln -s /root rootdir; ls -l", Spec{WorkDir: work, Timeout: 20 * time.Second})
	left := inWorkFS(t, r, work, "left")
	var st unix.Statfs_t
	if err := unix.Statfs(left, &st); err != nil {
		t.Fatal(err)
	}
	if st.Flags&unix.ST_NOSUID == 0 {
		t.Errorf("the work dir's file system is not nosuid")
	}
	// Run by an ordinary host user, through a descriptor (a host user
	// cannot follow the runner's /proc/PID/fd).
	lf, err := os.Open(left)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	cmd := exec.Command("/proc/self/fd/3", "-u")
	cmd.ExtraFiles = []*os.File{lf}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if got, err := cmd.Output(); err != nil || strings.TrimSpace(string(got)) != "65534" {
		t.Errorf("the left-behind setuid binary ran on the host as %q (%v); want nobody (65534)", got, err)
	}
	if ents, _ := os.ReadDir(work); len(ents) > 0 {
		t.Errorf("the host work dir holds %d entries", len(ents))
	}
	r.Release(work)
	if _, err := os.Stat(work); err == nil {
		t.Errorf("a released work dir is still on the host")
	}
}

func TestEscapeSymlinks(t *testing.T) {
	r := escapeRunner(t, Limits{})
	work := t.TempDir()
	p, secret := canary(t, os.TempDir())
	os.Symlink(p, inWorkFS(t, r, work, "canary"))
	os.Symlink("/root", inWorkFS(t, r, work, "rootdir"))
	os.Symlink("/", inWorkFS(t, r, work, "hostroot"))
	_, out := attempt(t, r, "following symlinks from the work dir to host paths", "ls -l; cat canary; ls rootdir; ls hostroot/; ls /", Spec{WorkDir: work, Timeout: 20 * time.Second})
	if !strings.Contains(out, "hostroot -> /") {
		t.Errorf("the links were not in the work dir")
	}
	if strings.Contains(out, secret) {
		t.Errorf("host canary read through a symlink")
	}
	for _, host := range []string{".dockerenv", "farm", "boot", "srv"} {
		if _, err := os.Stat("/" + host); err == nil && strings.Contains(out, "stdout: "+host+"\n") {
			t.Errorf("host root entry %s visible inside", host)
		}
	}
}

// The host's boot arguments and the host path of the work dir are not
// visible inside.
func TestEscapeHostPathsInProc(t *testing.T) {
	r := escapeRunner(t, Limits{})
	work := t.TempDir()
	host, _ := os.ReadFile("/proc/cmdline")
	res, out := attempt(t, r, "reading /proc/cmdline and mountinfo", "cat /proc/cmdline; echo ---; cat /proc/self/mountinfo /proc/1/mountinfo", Spec{WorkDir: work, Timeout: 20 * time.Second})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	if h := strings.TrimSpace(string(host)); h != "" && strings.Contains(out, h) || !strings.Contains(out, "stdout: ---") || strings.Index(out, "stdout: ---") > 0 {
		t.Errorf("/proc/cmdline shows the host's boot arguments")
	}
	for _, p := range []string{work, filepath.Dir(work), r.cfg.StateDir} {
		if strings.Contains(out, p) {
			t.Errorf("mountinfo shows the host path %s", p)
		}
	}
}

func TestEscapeTimeoutLeavesNothing(t *testing.T) {
	r := escapeRunner(t, Limits{})
	marker := fmt.Sprintf("%d", 100000+os.Getpid()%100000)
	start := time.Now()
	res, _ := attempt(t, r, "sleep with a 1 s timeout", "sleep "+marker+" & sleep "+marker+"; sleep "+marker, Spec{Timeout: time.Second})
	if !res.TimedOut || res.LimitHit != "timeout" {
		t.Errorf("result %+v: want a timeout", res)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout of 1s took %v", d)
	}
	time.Sleep(50 * time.Millisecond)
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if string(b) == "sleep\x00"+marker+"\x00" {
			t.Errorf("process %s survived the timeout", p)
		}
	}
}

func TestEscapeNoLeakedDescriptors(t *testing.T) {
	r := escapeRunner(t, Limits{})
	// A descriptor the worker holds open, as it holds NATS and Redis
	// connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The shell (pid 1 here) lists its own descriptors through a child.
	_, out := attempt(t, r, "listing the shell's /proc/self/fd", "ls -l /proc/1/fd > /tmp/fds; tail -n +2 /tmp/fds")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(strings.TrimPrefix(l, "stdout: "))
		if len(f) < 10 {
			continue
		}
		switch f[8] {
		case "0", "1", "2":
		default:
			t.Errorf("descriptor leaked into the sandbox: %s", l)
		}
	}
}

// A sandbox that is passed another one's output descriptors over a unix
// socket (two commands of one session share a work dir) can neither hold
// that run open nor write into its output once its command has ended.
func TestEscapeHeldOutputPipes(t *testing.T) {
	r := escapeRunner(t, Limits{})
	work := t.TempDir()
	holder := `python3 -c '
import os, socket, time
s = socket.socket(socket.AF_UNIX); s.bind("/work/sock"); s.listen(1)
c, _ = s.accept()
_, fds, _, _ = socket.recv_fds(c, 16, 2)
c.recv(1)  # end of file: the sender has exited
time.sleep(2)  # and its run has ended: bytes written before belong to that run
while not os.path.exists("/work/release"):
    for fd in fds:
        try: os.write(fd, b"FORGED-BY-TASK-B\n")
        except OSError: pass
    time.sleep(0.02)
print("holder released")
'`
	sender := `python3 -c '
import socket
s = socket.socket(socket.AF_UNIX); s.connect("/work/sock")
socket.send_fds(s, [b"x"], [1, 2])
print("sent")
'`
	release := func() { os.WriteFile(inWorkFS(t, r, work, "release"), nil, 0o644) }
	// Before the fix the sender's run waited for the holder; this ends
	// the holder so such a failure is reported rather than hanging.
	safety := time.AfterFunc(30*time.Second, release)
	defer safety.Stop()
	holderDone := make(chan Result, 1)
	go func() {
		res, _ := attempt(t, r, "holding another run's output descriptors", holder, Spec{WorkDir: work, Timeout: 60 * time.Second})
		holderDone <- res
	}()
	for i := 0; ; i++ {
		if _, err := os.Stat(inWorkFS(t, r, work, "sock")); err == nil {
			break
		}
		if i > 2000 {
			t.Fatal("the holder never listened")
		}
		time.Sleep(10 * time.Millisecond)
	}
	res, out := attempt(t, r, "passing stdout and stderr to another sandbox", sender, Spec{WorkDir: work, Timeout: 20 * time.Second})
	select {
	case <-holderDone:
		t.Errorf("the run ended only once the process holding its output had")
	default:
	}
	release()
	<-holderDone
	if res.ExitCode != 0 || res.TimedOut || !strings.Contains(out, "stdout: sent") {
		t.Errorf("result %+v: want the sender's own exit 0", res)
	}
	if strings.Contains(out, "FORGED") {
		t.Errorf("another sandbox wrote into this run's output")
	}
}

// Socket families the kernel does not isolate by network namespace are
// refused, and argument checks read the register as the kernel does: its
// high 32 bits cannot smuggle a filtered value past the filter.
func TestEscapeSocketFamiliesAndWideArguments(t *testing.T) {
	r := escapeRunner(t, Limits{})
	errnoOf := func(what, perl string) string {
		_, out := attempt(t, r, what, `perl -e '`+perl+`; print "err=", $!+0, "\n"'`)
		return out
	}
	for _, tc := range []struct {
		what string
		nr   int
		dom  string
	}{
		{"an AF_VSOCK socket (the host VM's port space)", 41, "40"},
		{"an AF_VSOCK socket with the family's high bits set", 41, "0x100000028"},
		{"an AF_ALG socket (kernel crypto)", 41, "38"},
		{"an AF_BLUETOOTH socket", 41, "31"},
		{"an AF_VSOCK socket pair", 53, "40"},
	} {
		out := errnoOf(tc.what, fmt.Sprintf(`my $r = syscall(%d, %s, 1, 0, 0)`, tc.nr, tc.dom))
		if !strings.Contains(out, "err=97") { // EAFNOSUPPORT
			t.Errorf("%s was not refused with EAFNOSUPPORT", tc.what)
		}
	}
	out := errnoOf("TIOCSTI with the request's high 32 bits set", `my $c = "x"; syscall(16, 0, 0x100005412, $c)`)
	if !strings.Contains(out, "err=1\n") && !strings.HasSuffix(out, "err=1") {
		t.Errorf("ioctl(0x100000000|TIOCSTI) was not refused with EPERM")
	}
	_, out = attempt(t, r, "ordinary sockets", `perl -e 'use Socket; socket(my $a, PF_INET, SOCK_STREAM, 0) or die "inet: $!"; socket(my $b, PF_UNIX, SOCK_STREAM, 0) or die "unix: $!"; socket(my $c, PF_INET6, SOCK_DGRAM, 0) or die "inet6: $!"; print "ok\n"'`)
	if !strings.Contains(out, "stdout: ok") {
		t.Errorf("ordinary sockets were refused")
	}
}

// The seccomp filter is an allow list: a syscall it does not list (here
// cachestat, which the kernel has) fails with ENOSYS, as on a kernel
// without it.
func TestEscapeUnlistedSyscall(t *testing.T) {
	r := escapeRunner(t, Limits{})
	_, out := attempt(t, r, "an unlisted syscall (cachestat on a bad descriptor)", `perl -e 'syscall(451, -1, 0, 0, 0); print "err=", $!+0, "\n"'`)
	if !strings.Contains(out, "stdout: err=38") {
		t.Errorf("an unlisted syscall reached the kernel")
	}
}
