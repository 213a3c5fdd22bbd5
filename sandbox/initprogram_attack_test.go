//go:build linux

package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/sandbox/internal/initimage"
)

// Attacks from inside a sandbox on the program that starts the next
// command: the sealed memory file the spawner and every init run
// (package initimage), or, on the fallback path (Config.selfInit), this
// binary re-executed. Each tries to reach, change or misuse it; each
// must fail, and the program must be the same after as before.

// initAttackProfiles are every view and pids setting, with no rule but
// syntax, so that what is tried reaches the confinement.
const initAttackProfiles = `default: bare
profiles:
  bare:
    description: the minimal view (strict's confinement)
    network: false
    rules: [syntax]
  barenet:
    description: the minimal view with network (network's confinement)
    network: true
    rules: [syntax]
  hostview:
    description: the host's view, own pids (workspace's confinement)
    view: host
    workspaces: ["*"]
    rules: [syntax]
  hostpids:
    description: the host's view and pids (observe's confinement)
    view: host
    pids: host
    workspaces: ["*"]
    rules: [syntax]
`

var initAttackProfileNames = []string{"bare", "barenet", "hostview", "hostpids"}

func writeInitAttackProfiles(t *testing.T) string {
	t.Helper()
	pf := filepath.Join(t.TempDir(), "profiles.yaml")
	if err := os.WriteFile(pf, []byte(initAttackProfiles), 0o644); err != nil {
		t.Fatal(err)
	}
	return pf
}

// initAttackRunner is a root runner with warm inits (processes running
// the program, waiting in the host's /proc), from the embedded program
// or, with self, from this binary.
func initAttackRunner(t *testing.T, self bool, ws ...Workspace) *NamespaceRunner {
	t.Helper()
	testenv.NeedRoot(t)
	r, err := New(Config{StateDir: t.TempDir(), ProfilesFile: writeInitAttackProfiles(t), WarmInits: 2, selfInit: self, Workspaces: ws})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// initProgram is what the runner starts its spawner from and a digest of
// it (contents and mode), read outside the sandbox.
func initProgram(t *testing.T, r *NamespaceRunner) (path, digest string) {
	t.Helper()
	path = r.spawner.path
	if path == selfExe {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		path = exe
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return path, hex.EncodeToString(h.Sum(nil)) + " " + fi.Mode().String()
}

// probeCommand runs the Python program src with args, passed as words
// the syntax rule accepts.
func probeCommand(src string, args ...string) string {
	return "echo " + base64.StdEncoding.EncodeToString([]byte(src)) + " | base64 -d > /tmp/probe.py; python3 /tmp/probe.py " + strings.Join(args, " ")
}

// procProbe goes through /proc to every process running the sandbox's
// program (its roles' argv[0]) and to the pids given: their executable,
// descriptors, mappings, memory, environment. It prints REACHED for
// anything it gets, LISTED for an fd directory it may list (names only,
// which procfs grants on ownership alone), and FOUND for each target.
const procProbe = `
import os, sys
def log(*a): print(*a, flush=True)
targets = {}
for p in os.listdir("/proc"):
    if not p.isdigit(): continue
    try: argv0 = open("/proc/%s/cmdline" % p, "rb").read().split(b"\0")[0].decode()
    except OSError: continue
    if argv0.startswith("amf-sandbox") or p in sys.argv[1:]:
        targets[p] = argv0
for p, argv0 in sorted(targets.items()):
    log("FOUND", p, argv0)
    bases = ["/proc/" + p]
    try: bases += ["/proc/%s/task/%s" % (p, t) for t in os.listdir("/proc/%s/task" % p)]
    except OSError: pass
    for base in bases:
        def attempt(what, f):
            try: log("REACHED", argv0, base, what, repr(f())[:100])
            except OSError as e: log("denied", argv0, base, what, e.strerror)
        attempt("readlink exe", lambda: os.readlink(base + "/exe"))
        attempt("stat exe", lambda: os.stat(base + "/exe").st_mode)
        attempt("open exe rdonly", lambda: os.close(os.open(base + "/exe", os.O_RDONLY)))
        attempt("open exe rdwr", lambda: os.close(os.open(base + "/exe", os.O_RDWR)))
        attempt("open exe wronly|trunc", lambda: os.close(os.open(base + "/exe", os.O_WRONLY | os.O_TRUNC)))
        attempt("chmod exe", lambda: os.chmod(base + "/exe", 0o600))
        attempt("truncate exe", lambda: os.truncate(base + "/exe", 0))
        attempt("map_files", lambda: os.listdir(base + "/map_files"))
        attempt("maps", lambda: open(base + "/maps").read(100))
        attempt("environ", lambda: open(base + "/environ", "rb").read(100))
        attempt("mem", lambda: os.close(os.open(base + "/mem", os.O_RDWR)))
        attempt("root", lambda: os.listdir(base + "/root/"))
        try:
            fds = os.listdir(base + "/fd")
            log("LISTED", argv0, base, fds)
        except OSError:
            fds = [str(i) for i in range(64)]
        for fd in fds + ["251", "255"]:
            for what, f in (("readlink fd", lambda: os.readlink(base + "/fd/" + fd)),
                            ("fdinfo", lambda: open(base + "/fdinfo/" + fd).read(100))):
                try: log("REACHED", argv0, base, what, fd, repr(f())[:100])
                except OSError: pass
            for mode in (os.O_RDONLY, os.O_RDWR):
                try: x = os.open(base + "/fd/" + fd, mode)
                except OSError: continue
                log("REACHED", argv0, base, "open fd", fd, mode, os.readlink("/proc/self/fd/%d" % x))
                try: os.fchmod(x, 0o600); log("REACHED", "fchmod fd", fd)
                except OSError: pass
                os.close(x)
`

// checkProcProbe fails the test on anything the probe reached, and when
// it found no spawner: an attack that finds no target proves nothing.
func checkProcProbe(t *testing.T, what, out string) {
	t.Helper()
	if !strings.Contains(out, "amf-sandbox-spawner") {
		t.Errorf("%s: the probe found no spawner in the host's /proc, so it tried nothing:\n%s", what, out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "REACHED") {
			t.Errorf("%s: a command reached the process that starts the next one: %s", what, l)
		}
	}
}

// The memory file is reachable only through /proc/<pid> of the runner,
// the spawner or an init (exe, fd/N, map_files, mem). Under pids: host a
// command sees them all, with warm inits and another sandbox's command
// running: none of those paths opens, links, maps or chmods the
// program, and the next command starts from it unchanged. The same on
// the fallback path, where the program is this binary on disk.
func TestAttackInitProgramThroughHostProc(t *testing.T) {
	for _, self := range []bool{false, true} {
		name := "embedded"
		if self {
			name = "self"
		}
		t.Run(name, func(t *testing.T) {
			r := initAttackRunner(t, self)
			path, before := initProgram(t, r)
			exe := spawnerExe(t, r)
			if !self && !strings.HasPrefix(exe, "/memfd:amf-sandbox") {
				t.Fatalf("the spawner runs %s, not the embedded program", exe)
			}
			victim := make(chan struct{})
			go func() {
				defer close(victim)
				run(t, r, "bare", "sleep 6.54321", 20*time.Second)
			}()
			time.Sleep(500 * time.Millisecond)
			_, out := run(t, r, "hostpids", probeCommand(procProbe, strconv.Itoa(os.Getpid())), 30*time.Second)
			t.Logf("probe (%s):\n%s", path, out)
			checkProcProbe(t, name, out)
			<-victim
			if _, after := initProgram(t, r); after != before {
				t.Errorf("the program at %s changed: %s, was %s", path, after, before)
			}
			if got := spawnerExe(t, r); got != exe {
				t.Errorf("the spawner now runs %s, was %s", got, exe)
			}
			for _, p := range initAttackProfileNames {
				if res, out := run(t, r, p, "echo ok", 20*time.Second); res.ExitCode != 0 || out != "stdout: ok" {
					t.Errorf("%s: the next command: %+v %q", p, res, out)
				}
			}
		})
	}
}

// The command inherits nothing of its init's: not the control socket
// (fd 3), not the /etc mount (fd 4), not the task's detached mounts, not
// a descriptor of the program; and it is not the program either. Checked
// in the shell itself (which could hold close-on-exec descriptors a
// child does not see) and in a child, under every profile, from the
// embedded program and from this binary.
func TestAttackInitProgramDescriptors(t *testing.T) {
	for _, self := range []bool{false, true} {
		r := initAttackRunner(t, self)
		for _, p := range initAttackProfileNames {
			res, out := run(t, r, p, `ls -l /proc/$$/fd/ /proc/self/fd/; readlink /proc/$$/exe /proc/self/exe; grep -c amf-sandbox /proc/$$/maps`, 20*time.Second)
			if res.ExitCode == 0 && !strings.Contains(out, "bash") {
				t.Fatalf("self=%v %s: no listing: %+v\n%s", self, p, res, out)
			}
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, "memfd") || strings.Contains(l, "amf-sandbox") || strings.Contains(l, "socket:") ||
					strings.Contains(l, "anon_inode") || strings.Contains(l, "etc") || strings.Contains(l, ".test") {
					t.Errorf("self=%v %s: the command holds something of its init's: %s", self, p, l)
				}
				f := strings.Fields(strings.TrimPrefix(l, "stdout: "))
				if len(f) >= 11 && f[9] == "->" {
					switch f[8] {
					case "0", "1", "2":
					case "3": // ls's own directory, in the second listing
						if !strings.HasPrefix(f[10], "/proc/") {
							t.Errorf("self=%v %s: descriptor 3 leaked: %s", self, p, l)
						}
					default:
						t.Errorf("self=%v %s: descriptor leaked: %s", self, p, l)
					}
				}
			}
		}
	}
}

// A command can run the sandbox's program itself (here, handed to it in
// a workspace, as the host view may show the amf binary) in each of its
// roles, with a socket of its own at fd 3: started by the command, the
// init and the spawner have the command's rights and no more. The init
// cannot build a root (it never reports ready) and the spawner cannot
// start an init, in new namespaces or in the command's own.
func TestAttackInitProgramRolesGiveNoPrivilege(t *testing.T) {
	testenv.NeedRoot(t)
	dir := filepath.Join(t.TempDir(), "ws")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := initimage.Path()
	if err != nil {
		t.Fatal(err)
	}
	programs := map[string]string{"embedded": img}
	if programs["self"], err = os.Executable(); err != nil {
		t.Fatal(err)
	}
	for name, src := range programs {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := initAttackRunner(t, false, Workspace{Name: "ws", Path: dir, Mode: WorkspaceRO})
	for _, p := range []string{"hostview", "hostpids"} {
		for name := range programs {
			var c collector
			res, err := r.Run(t.Context(), Spec{Command: probeCommand(rolesProbe, filepath.Join(dir, name)), Profile: p, Workspace: "ws", Timeout: 60 * time.Second}, c.out)
			if err != nil {
				t.Fatal(err)
			}
			out := c.text()
			t.Logf("%s, %s: %+v\n%s", p, name, res, out)
			if !strings.Contains(out, "INIT-REPLY") || strings.Count(out, "SPAWN-REPORT") != 2 {
				t.Errorf("%s, %s: the roles were not tried:\n%s", p, name, out)
			}
			if strings.Contains(out, "REACHED") {
				t.Errorf("%s, %s: the program in a role did more than the command could:\n%s", p, name, out)
			}
		}
	}
}

// rolesProbe starts the program at argv[1] as the init and as the
// spawner, speaking their protocols (package child) on a socket at fd 3.
const rolesProbe = `
import json, os, socket, subprocess, sys
prog = sys.argv[1]
def start(env, argv0):
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    fd = theirs.fileno()
    def at3():
        os.dup2(fd, 3)
        os.set_inheritable(3, True)
    p = subprocess.Popen([argv0], executable=prog, env=env, preexec_fn=at3, close_fds=False,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    theirs.close()
    mine.settimeout(15)
    return p, mine
def reply(s):
    try: return s.recv(65536)
    except Exception as e: return repr(e).encode()
p, s = start({"AMF_SANDBOX_INIT": "1"}, "amf-sandbox-init")
r = reply(s)
print("INIT-REPLY", r, flush=True)
if r == b"\0": print("REACHED the init role built a root", flush=True)
p.kill(); p.wait()
NEWUSER, NEWNS, NEWPID, NEWNET = 0x10000000, 0x00020000, 0x20000000, 0x40000000
uid, gid = os.getuid(), os.getgid()
for flags in (NEWUSER | NEWNS | NEWPID | NEWNET, 0):
    req = {"env": ["AMF_SANDBOX_INIT=1"], "clone": flags}
    if flags:
        req["uid_map"] = [{"ContainerID": 0, "HostID": uid, "Size": 1}]
        req["gid_map"] = [{"ContainerID": 0, "HostID": gid, "Size": 1}]
    p, s = start({"AMF_SANDBOX_SPAWNER": "1"}, "amf-sandbox-spawner")
    ctl, ctl2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    st, st2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    socket.send_fds(s, [json.dumps(req).encode()], [ctl2.fileno(), st2.fileno()])
    ctl2.close(); st2.close()
    st.settimeout(15)
    rep = reply(st)
    print("SPAWN-REPORT", hex(flags), rep, flush=True)
    try: started = json.loads(rep).get("pid")
    except ValueError: started = None
    if started:
        ctl.settimeout(15)
        r = reply(ctl)
        print("REACHED the spawner role started init", started, "which replied", r, flush=True)
    s.close(); ctl.close()
    p.kill(); p.wait()
`

// retuneTargets are the processes a command under pids: host must not
// retune through /proc: the runner, its spawner and another sandbox's
// command, with what each of their ownership-guarded files says now.
func retuneTargets(t *testing.T, r *NamespaceRunner, victim string) map[string]string {
	t.Helper()
	pids := []string{strconv.Itoa(os.Getpid()), strconv.Itoa(spawnerPid(r))}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if p := findCmdline(victim); p != "" {
			pids = append(pids, p)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the victim command %q is not running", victim)
		}
	}
	state := map[string]string{}
	for _, p := range pids {
		state[p] = retuneState(p)
	}
	return state
}

func retuneState(pid string) string {
	var s []string
	for _, f := range []string{"oom_score_adj", "coredump_filter", "autogroup"} {
		b, _ := os.ReadFile("/proc/" + pid + "/" + f)
		s = append(s, f+"="+strings.TrimSpace(string(b)))
	}
	return strings.Join(s, " ")
}

// findCmdline is the pid of a process whose argv is args, or "".
func findCmdline(args string) string {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && string(b) == strings.ReplaceAll(args, " ", "\x00")+"\x00" {
			return e.Name()
		}
	}
	return ""
}

// retuneSetup starts another sandbox's command and returns what the
// targets' files say now, a command that retunes them all, and a channel
// closed once that other command has ended.
func retuneSetup(t *testing.T, r *NamespaceRunner) (before map[string]string, attack string, done chan struct{}) {
	t.Helper()
	victim := "sleep 6.54321"
	done = make(chan struct{})
	go func() {
		defer close(done)
		run(t, r, "bare", victim, 20*time.Second)
	}()
	before = retuneTargets(t, r, victim)
	var cmd strings.Builder
	for p := range before {
		cmd.WriteString("echo 1000 > /proc/" + p + "/oom_score_adj; echo 0 > /proc/" + p + "/coredump_filter; echo 19 > /proc/" + p + "/autogroup; ")
	}
	return before, cmd.String() + "true", done
}

// retuneAttack, from a pids: host command, raises the OOM score of the
// runner, the spawner and another sandbox's command (the OOM killer's
// first picks: a memory bomb then takes down the spawner, and with it
// every running command, and the worker), lowers their CPU share
// (autogroup nice 19) and strips their core dumps; it fails the test
// for whatever changed, as the host sees it.
func retuneAttack(t *testing.T, r *NamespaceRunner) {
	t.Helper()
	before, attack, done := retuneSetup(t, r)
	_, out := run(t, r, "hostpids", attack, 20*time.Second)
	for p, was := range before {
		if now := retuneState(p); now != was {
			what := "another sandbox's command"
			switch p {
			case strconv.Itoa(os.Getpid()):
				what = "the runner (the worker)"
			case strconv.Itoa(spawnerPid(r)):
				what = "the spawner, which starts every next command"
			}
			t.Errorf("a pids: host command retuned %s (pid %s) through /proc:\n  before %s\n  after  %s", what, p, was, now)
		}
	}
	if t.Failed() {
		t.Logf("%s", out)
	}
	<-done
}

// A root runner's pids: host command is a host uid of its own, so
// procfs refuses it every ownership-guarded file of the runner's, the
// spawner's and other sandboxes' processes.
func TestAttackHostPidsRetunesSpawner(t *testing.T) {
	r := initAttackRunner(t, false)
	t.Cleanup(func() {
		// Had it worked: the test process is the runner.
		os.WriteFile("/proc/self/oom_score_adj", []byte("0"), 0)
		os.WriteFile("/proc/self/autogroup", []byte("0"), 0)
	})
	retuneAttack(t, r)
}

// Without root every command runs as the worker's own uid, which owns
// the worker, the spawner, the memory file and every other command: the
// ownership checks that keep a pids: host command from retuning them
// through the host's /proc (oom_score_adj, coredump_filter, autogroup:
// the spawner and worker made the OOM killer's first picks, which a
// memory bomb with no cgroup limit then kills, and every command with
// them) would guard nothing. Such a runner refuses pids: host, and
// nothing is changed. Run as root, it re-runs itself as nobody.
func TestAttackHostPidsRetunesSpawnerUnprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		// The autogroup is the session's, which this process shares.
		defer os.WriteFile("/proc/self/autogroup", []byte("0"), 0)
		asNobody(t, "TestAttackHostPidsRetunesSpawnerUnprivileged")
		return
	}
	r, err := New(Config{StateDir: os.Getenv("AMF_SANDBOX_TEST_STATE"), ProfilesFile: writeInitAttackProfiles(t)})
	if err != nil {
		testenv.Skip(t, "user namespaces unavailable: "+err.Error())
	}
	defer r.Close()
	before, attack, done := retuneSetup(t, r)
	var c collector
	_, err = r.Run(t.Context(), Spec{Command: attack, Profile: "hostpids", Timeout: 20 * time.Second}, c.out)
	if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "pids: host") || !strings.Contains(err.Error(), "as root") {
		t.Errorf("a pids: host command on a runner without root: %v, want it refused, saying why", err)
	}
	for p, was := range before {
		if now := retuneState(p); now != was {
			t.Errorf("pid %s was retuned through /proc:\n  before %s\n  after  %s", p, was, now)
		}
	}
	<-done
	if res, out := run(t, r, "bare", "echo ok", 20*time.Second); res.ExitCode != 0 || out != "stdout: ok" {
		t.Errorf("the next command: %+v %q", res, out)
	}
}
