//go:build linux

package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

// ps aux is what a model writes for "which process uses the most
// memory?": under pids: host its top line is a host process.
func TestHostPidsPsAuxShowsHostProcesses(t *testing.T) {
	r := newViewRunner(t)
	// A host process, not root's, among the biggest: 1 GiB resident
	// (other test binaries on a loaded machine may hold near 1 GB, so it
	// need only be among the top three).
	hog := exec.Command("/usr/bin/python3", "-c", "import time; b = bytearray(1 << 30); time.sleep(60)")
	hog.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4323, Gid: 4323}}
	if err := hog.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hog.Process.Kill(); hog.Wait() })
	waitRSS(t, hog.Process.Pid, 900<<10)

	res, out := runIn(t, r, "observe", "", "ps aux --sort=-%mem | head -4")
	if res.ExitCode != 0 {
		t.Fatalf("ps aux under pids: host exits %d:\n%s", res.ExitCode, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], "USER") {
		t.Fatalf("ps aux printed no table:\n%s", out)
	}
	found := false
	for _, l := range lines[1:] {
		if f := strings.Fields(strings.TrimPrefix(l, "stdout: ")); len(f) >= 2 && f[1] == strconv.Itoa(hog.Process.Pid) {
			found = true
		}
	}
	if !found {
		t.Errorf("the host's 1 GiB process (pid %d) is not among the top memory processes:\n%s", hog.Process.Pid, out)
	}
}

// waitRSS waits until pid's resident set reaches kb.
func waitRSS(t *testing.T, pid int, kb int) {
	t.Helper()
	// Faulting in 1 GiB takes seconds on a loaded VM whose page faults
	// trap to the hypervisor.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				if n, _ := strconv.Atoi(strings.Fields(v)[0]); n >= kb {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("process %d never reached %d kB resident", pid, kb)
}

// killUID ends every process of one uid and no other: not root's, whose
// real uid a careless sender shares, nor another user's.
func TestKillUIDKillsOnlyThatUID(t *testing.T) {
	testenv.NeedRoot(t)
	const target = 1_800_000_000 + hostUIDFirst + hostUIDCount - 1
	start := func(uid uint32) *exec.Cmd {
		c := exec.Command("sleep", "60")
		if uid != 0 {
			c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		return c
	}
	victim, root, other := start(target), start(0), start(4324)
	killUID(target)
	if err := victim.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("the process of uid %d was not killed: %v", target, err)
	}
	for _, c := range []*exec.Cmd{root, other} {
		if err := c.Process.Signal(syscall.Signal(0)); err != nil {
			t.Errorf("killUID(%d) killed %v's sleep: %v", target, c.SysProcAttr, err)
		}
	}
	if !asOnly(0) {
		t.Errorf("the calling thread did not take root back")
	}
}

// Two pids: host commands running at once run as different host uids:
// one cannot signal the other, nor rewrite its /proc entries, nor read
// its environment.
func TestHostPidsSandboxesAreApart(t *testing.T) {
	r := newAttackRunner(t)
	done := make(chan string, 1)
	go func() {
		var c collector
		res, err := r.Run(context.Background(), Spec{Command: "AMF_VICTIM_SECRET=amf-victim-env sleep 6.54321; echo VICTIM-$?", Profile: "attacker", Timeout: 30 * time.Second}, c.out)
		done <- fmt.Sprintf("%v exit=%d %s", err, res.ExitCode, c.text())
	}()
	var out string
	for i := 0; i < 50 && !strings.Contains(out, "VICTIM "); i++ {
		time.Sleep(100 * time.Millisecond)
		_, out = runIn(t, r, "attacker", "", "p=$(pgrep -f 'sleep 6.54321' | head -1); test -n \"$p\" && echo VICTIM $p")
	}
	if !strings.Contains(out, "VICTIM ") {
		t.Fatalf("the other sandbox's process is not visible under pids: host:\n%s", out)
	}
	_, out = runIn(t, r, "attacker", "", `
p=$(pgrep -f 'sleep 6.54321' | head -1)
echo "ids: $(id -u) $(stat -c %u /proc/$p)"
echo 1000 > /proc/$p/oom_score_adj && echo "WROTE oom_score_adj"
echo 0 > /proc/$p/coredump_filter && echo "WROTE coredump_filter"
tr '\0' '\n' < /proc/$p/environ
kill -9 $p && echo "KILLED"
kill -STOP $p && echo "STOPPED"
true`)
	for _, bad := range []string{"WROTE", "amf-victim-env", "KILLED", "STOPPED"} {
		if strings.Contains(out, bad) {
			t.Errorf("a pids: host command reached another one's process (%s):\n%s", bad, out)
		}
	}
	if got := <-done; !strings.Contains(got, "VICTIM-0") {
		t.Errorf("the other sandbox's command did not finish untouched: %s", got)
	}
}

// A host process of an ordinary user is out of reach of a pids: host
// command as much as root's: no signal, no environment.
func TestHostPidsCannotTouchUserProcesses(t *testing.T) {
	r := newViewRunner(t)
	sleeper := exec.Command("sleep", "60")
	sleeper.Env = []string{"AMF_HOST_SECRET=amf-user-environ"}
	sleeper.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000}}
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	pid := strconv.Itoa(sleeper.Process.Pid)
	_, out := runIn(t, r, "observe", "", "cat /proc/"+pid+"/environ; echo 5 > /proc/"+pid+"/oom_score_adj && echo WROTE; kill -9 "+pid+" && echo KILLED; true")
	if strings.Contains(out, "amf-user-environ") || strings.Contains(out, "WROTE") || strings.Contains(out, "KILLED") {
		t.Errorf("a pids: host command reached a host user's process:\n%s", out)
	}
	if err := sleeper.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("host process %s is gone: %v", pid, err)
	}
}

// What a command leaves running in the background ends with it, as it
// does in a pid namespace of its own.
func TestHostPidsLeftoversEndWithTheCommand(t *testing.T) {
	r := newViewRunner(t)
	res, out := runIn(t, r, "observe", "", "setsid sleep 7.6543 >/dev/null 2>&1 < /dev/null & echo started")
	if res.ExitCode != 0 {
		t.Fatalf("exit %d:\n%s", res.ExitCode, out)
	}
	time.Sleep(100 * time.Millisecond)
	if b, _ := exec.Command("pgrep", "-f", "sleep 7.6543").Output(); len(b) > 0 {
		t.Errorf("a background process outlived its command: pid %s", b)
	}
}
