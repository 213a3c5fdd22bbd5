//go:build linux

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/kerneltest"
	"golang.org/x/sys/unix"
)

// The micro-VM tests share one runner, so the guests it boots ahead of
// need serve all of them: under software emulation a boot takes
// seconds, and each command needs a guest of its own.
var (
	sharedMicroVM     *MicroVMRunner
	sharedMicroVMErr  error
	sharedMicroVMOnce sync.Once
)

// microVMDNS is where the micro-VM runner sends its guests' DNS; the
// network test answers there.
var microVMDNS = fmt.Sprintf("127.%d.%d.%d", 100+rand.IntN(100), rand.IntN(250), 1+rand.IntN(250))

// microVMLimits are small enough for the limit tests to reach quickly.
var microVMLimits = Limits{Memory: 128 << 20, WorkDirBytes: 16 << 20, Processes: 64}

func microVMRunner(t *testing.T) *MicroVMRunner {
	t.Helper()
	testenv.NeedRoot(t)
	testenv.NeedBinary(t, "qemu-system-x86_64")
	sharedMicroVMOnce.Do(func() {
		dir, err := os.MkdirTemp("", "microvm-sandbox-test-")
		if err != nil {
			sharedMicroVMErr = err
			return
		}
		pf := filepath.Join(dir, "profiles.yaml")
		if err := os.WriteFile(pf, []byte(escapeProfiles+microVMNetProfile), 0o644); err != nil {
			sharedMicroVMErr = err
			return
		}
		// TCG as in CI: this host's KVM cannot run stock kernels, and
		// the probe boot would cost every test run seconds.
		sharedMicroVM, sharedMicroVMErr = NewMicroVM(Config{StateDir: dir, ProfilesFile: pf, Limits: microVMLimits, DNS: microVMDNS,
			MicroVM: MicroVMConfig{Accel: "tcg", WarmGuests: 2}})
		afterTests = append(afterTests, func() {
			if sharedMicroVM != nil {
				sharedMicroVM.Close()
			}
			os.RemoveAll(dir)
		})
	})
	if sharedMicroVMErr != nil {
		t.Fatal(sharedMicroVMErr)
	}
	return sharedMicroVM
}

const microVMNetProfile = `  net:
    description: with network
    network: true
    rules: [syntax]
  vm:
    description: runs in a micro-VM whatever the runner
    backend: microvm
    rules: [syntax]
`

func microVMRun(t *testing.T, spec Spec) (Result, string) {
	t.Helper()
	r := microVMRunner(t)
	if spec.Timeout == 0 {
		spec.Timeout = 2 * time.Minute
	}
	var c collector
	res, err := r.Run(t.Context(), spec, c.out)
	if err != nil {
		t.Fatalf("run %q: %v", spec.Command, err)
	}
	t.Logf("ran %q: %+v\n%s", spec.Command, res, c.text())
	return res, c.text()
}

func TestMicroVMRun(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	res, out := microVMRun(t, Spec{
		Command:   `echo hi; echo oops >&2; echo "$FOO"; id -un; pwd; echo kept > kept; seq 1 5000; exit 3`,
		Env:       []string{"FOO=bar"},
		WorkDir:   work,
		MaxOutput: 200,
	})
	if res.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", res.ExitCode)
	}
	for _, want := range []string{"stdout: hi", "stderr: oops", "stdout: bar", "stdout: amf", "stdout: /work", "[amf: output truncated"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !res.Truncated || res.LimitHit != "output" {
		t.Errorf("truncated %v, limit %q; want output truncated", res.Truncated, res.LimitHit)
	}
	// The work dir stays for the task's next command, on the host.
	if b, err := os.ReadFile(filepath.Join(work, "kept")); err != nil || string(b) != "kept\n" {
		t.Errorf("work dir file on the host: %q, %v", b, err)
	}
	microVMRunner(t).Release(work)
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("released work dir still there: %v", err)
	}
}

// A network-profile guest gets egress and DNS through the namespace
// backend's confinement, and nothing of the host: not its loopback
// listeners (through the user-mode network's 10.0.2.2 or otherwise),
// not the kernel's NATS port, not listeners on the host's addresses,
// not another sandbox. One guest runs the whole battery (a boot each).
func TestMicroVMNetworkEgress(t *testing.T) {
	t.Parallel()
	r := microVMRunner(t)
	testenv.NeedBinary(t, "nft") // Debian nftables: just deps
	if r.netPool == nil {
		t.Fatalf("no egress path for network guests: %v", r.netErr)
	}
	dnsServer(t, microVMDNS, net.IPv4(203, 0, 113, 78))
	inet := newTestNetns(t)
	outsideAddr := greetOutside(t, inet)

	accepted := make(chan string, 16)
	lo := greet(t, "tcp4", "127.0.0.1:0", "host loopback", accepted)
	all := greet(t, "tcp4", "0.0.0.0:0", "host listener", accepted)
	k := kerneltest.Start(t)
	natsURL, _ := url.Parse(k.NC.ConnectedUrl())
	loPort := strconv.Itoa(lo.Addr().(*net.TCPAddr).Port)
	allPort := strconv.Itoa(all.Addr().(*net.TCPAddr).Port)

	// Another sandbox with network, of the namespace backend, listening.
	other := netRunner(t, "")
	otherAddr := make(chan string, 1)
	otherDone := make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		defer close(otherDone)
		other.Run(ctx, Spec{Profile: "bare-net", Timeout: 5 * time.Minute, Command: `python3 -c '
import socket, subprocess, time
s = socket.socket(); s.bind(("0.0.0.0", 8000)); s.listen(8)
addr = subprocess.run(["ip", "-4", "-o", "addr", "show", "eth0"], capture_output=True, text=True).stdout.split()[3].split("/")[0]
print("listening", addr, flush=True)
time.sleep(600)
'`}, func(s Stream, line string) {
			if a, ok := strings.CutPrefix(line, "listening "); ok {
				otherAddr <- a
			}
		})
	}()
	var neighbour string
	select {
	case neighbour = <-otherAddr:
	case <-otherDone:
		t.Fatal("the other sandbox did not start listening")
	}
	defer func() { cancel(); <-otherDone }()

	targets := []string{
		outsideAddr,
		"10.0.2.2:" + loPort,
		"10.0.2.2:" + natsURL.Port(),
		"10.0.2.2:" + allPort,
		"127.0.0.1:" + natsURL.Port(),
		inet.hostAddr + ":" + allPort,
		neighbour + ":8000",
	}
	for _, a := range hostAddrs(t) {
		targets = append(targets, a+":"+allPort, a+":"+natsURL.Port())
	}
	// The guest's DNS server is the host's end of its veth pair.
	_, out := microVMRun(t, Spec{Profile: "net", Command: `ls /sys/class/net; ip -4 route show default; ns=$(awk '/^nameserver/{print $2}' /etc/resolv.conf); echo nameserver $ns; ` +
		probe(targets...) + ` $ns:` + allPort + ` $ns:` + natsURL.Port() + `; getent ahostsv4 confine-probe.test | head -1`})
	if !strings.Contains(out, "stdout: eth0") {
		t.Errorf("the network guest has no NIC")
	}
	if !strings.Contains(out, outsideAddr+" connected hello from outside") {
		t.Errorf("no egress: the outside server was not reached")
	}
	if !strings.Contains(out, "stdout: 203.0.113.78") {
		t.Errorf("DNS did not answer through the configured resolver")
	}
	if n := strings.Count(out, " failed: "); n != len(targets)+1 {
		t.Errorf("%d attempts failed, want %d (all but the outside server)", n, len(targets)+1)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " connected ") && !strings.Contains(l, outsideAddr) {
			t.Errorf("reached what it must not: %s", l)
		}
	}
	select {
	case a := <-accepted:
		t.Errorf("a host listener accepted a connection from %s", a)
	default:
	}
}

// The escape battery against the guest: each line of the script is
// one attempt that must fail. Validation is reduced to the syntax check.
func TestMicroVMEscape(t *testing.T) {
	t.Parallel()
	canary := filepath.Join(t.TempDir(), "canary")
	if err := os.WriteFile(canary, []byte("host secret"), 0o644); err != nil {
		t.Fatal(err)
	}
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
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	host := strconv.Itoa(os.Getpid())
	work := t.TempDir()
	defer microVMRunner(t).Release(work)
	script := `t() { n=$1; shift; if ( "$@" ) >/dev/null 2>&1; then echo "ESCAPED $n"; else echo "held $n"; fi; }
t host-file cat ` + canary + `
t host-process test -e /proc/` + host + `/cmdline
t host-processes sh -c 'test $(ls -d /proc/[0-9]* | wc -l) -gt 60'
t nic sh -c 'ls /sys/class/net | grep -vqx lo'
t host-loopback bash -c 'exec 3<>/dev/tcp/127.0.0.1/` + port + `'
t slirp-gateway bash -c 'exec 3<>/dev/tcp/10.0.2.2/` + port + `'
t write-usr touch /usr/amf-escape
t write-etc touch /etc/amf-escape
t write-root touch /amf-escape
t agent-port sh -c 'for p in /dev/vport*; do echo x > $p && exit 0; done; exit 1'
t agent-environ cat /proc/1/environ
t agent-memory head -c1 /proc/1/mem
t kill-agent kill -9 1
t dev-mem head -c1 /dev/mem
t kcore head -c1 /proc/kcore
t block-device sh -c 'ls /dev | grep -qE "^(vd|sd|nvme|hd|xvd)"'
t mount mount -t tmpfs x /tmp
t remount-usr mount -o remount,rw /usr
t sysctl sh -c 'echo 1 > /proc/sys/kernel/sysrq'
t sysrq sh -c 'echo b > /proc/sysrq-trigger'
t chown-root sh -c 'echo x > f && chown 0:0 f'
t setuid-root-fs sh -c 'cp /bin/bash /tmp/sb && chmod 4755 /tmp/sb && /tmp/sb -p -c "test \$(id -u) = 0"'
cp /bin/true setuid-left && chmod 4755 setuid-left
echo done`
	res, out := microVMRun(t, Spec{Command: script, WorkDir: work})
	if res.ExitCode != 0 || !strings.Contains(out, "stdout: done") {
		t.Fatalf("the battery did not run to its end: exit %d", res.ExitCode)
	}
	if n := strings.Count(out, "stdout: held "); n != 22 {
		t.Errorf("%d attempts held, want 22", n)
	}
	if strings.Contains(out, "ESCAPED") {
		t.Errorf("an attempt succeeded:\n%s", out)
	}
	select {
	case <-accepted:
		t.Error("the guest reached a listener on the host's loopback")
	default:
	}
	// What the guest left in the work dir belongs to an unused host id
	// and cannot run with privileges on the host.
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(work, "setuid-left"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1_800_000_000+sandboxUID {
		t.Errorf("file left by the guest owned by host uid %d, want %d", st.Uid, 1_800_000_000+sandboxUID)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(work, &sfs); err != nil {
		t.Fatal(err)
	}
	if sfs.Flags&unix.ST_NOSUID == 0 || sfs.Flags&unix.ST_NODEV == 0 {
		t.Errorf("work dir mounted without nosuid,nodev: flags %#x", sfs.Flags)
	}
}

func TestMicroVMLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, cmd string
		timeout   time.Duration
		limit     string
	}{
		{"memory", "tail /dev/zero", 0, "memory"},
		{"processes", "for i in $(seq 100); do sleep 60 & done; echo started", 0, "pids"},
		{"work dir", "head -c 32M /dev/zero > big", 0, "work_dir_bytes"},
		{"timeout", "sleep 600", 3 * time.Second, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, _ := microVMRun(t, Spec{Command: tc.cmd, Timeout: tc.timeout})
			if res.LimitHit != tc.limit {
				t.Errorf("limit hit %q, want %q", res.LimitHit, tc.limit)
			}
			if tc.limit == "timeout" && (!res.TimedOut || res.Signal != "killed") {
				t.Errorf("timed out %v, signal %q; want killed by the timeout", res.TimedOut, res.Signal)
			}
		})
	}
}

// A profile that names the microvm backend sends its commands to a
// guest while the others run in the namespace backend: the guest runs
// its own kernel, Debian's, not the host's.
func TestSelectRoutesByProfile(t *testing.T) {
	t.Parallel()
	vm := microVMRunner(t)
	pf := filepath.Join(t.TempDir(), "profiles.yaml")
	if err := os.WriteFile(pf, []byte(escapeProfiles+microVMNetProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{StateDir: t.TempDir(), ProfilesFile: pf, WarmInits: -1}
	ns, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if _, err := NewSelect(cfg, ns, nil); !errors.Is(err, ErrBadProfiles) {
		t.Errorf("a select runner without the microvm backend a profile names: %v, want ErrBadProfiles", err)
	}
	sel, err := NewSelect(cfg, ns, map[string]Runner{"microvm": vm})
	if err != nil {
		t.Fatal(err)
	}
	var host unix.Utsname
	unix.Uname(&host)
	hostRelease := unix.ByteSliceToString(host.Release[:])
	for _, tc := range []struct{ profile, want string }{
		{"vm", vm.spec.Image.Version},
		{"bare", hostRelease},
	} {
		var c collector
		res, err := sel.Run(t.Context(), Spec{Command: "uname -r", Profile: tc.profile, Timeout: 2 * time.Minute}, c.out)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("profile %s: %+v %v", tc.profile, res, err)
		}
		if got := c.text(); got != "stdout: "+tc.want {
			t.Errorf("profile %s ran on kernel %q, want %q", tc.profile, got, tc.want)
		}
	}
}
