//go:build linux

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/sandbox/policy"
)

// confinementProfiles writes the built-in profiles with observe and
// workspace left without local-file-inclusion, so that what these tests
// try reaches the confinement instead of being refused by the checker
// first: the view must hold on its own. (The checker's refusals in the
// same scope are sandbox/policy's TestScopeJudgesPathsWhereTheCommandRuns
// and TestBuiltinViewProfilesCheckPaths.)
func confinementProfiles(t *testing.T, dir string) string {
	t.Helper()
	var f map[string]any
	if err := yaml.Unmarshal(policy.BuiltinProfiles(), &f); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"observe", "workspace"} {
		p := f["profiles"].(map[string]any)[name].(map[string]any)
		rules := slices.DeleteFunc(p["rules"].([]any), func(r any) bool { return r == RuleLocalFile })
		if len(rules) == len(p["rules"].([]any)) {
			t.Fatalf("profile %s has no %s to leave out", name, RuleLocalFile)
		}
		p["rules"] = rules
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "profiles.yaml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// newViewRunner is a root runner with the workspaces declared as a
// worker's flags would, and the profiles of confinementProfiles.
func newViewRunner(t *testing.T, ws ...Workspace) *NamespaceRunner {
	t.Helper()
	testenv.NeedRoot(t)
	r, err := New(Config{StateDir: t.TempDir(), Workspaces: ws, WarmInits: -1, ProfilesFile: confinementProfiles(t, t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// runIn runs cmd under profile in workspace and returns its output.
func runIn(t *testing.T, r Runner, profile, workspace, cmd string) (Result, string) {
	t.Helper()
	var c collector
	res, err := r.Run(context.Background(), Spec{Command: cmd, Profile: profile, Workspace: workspace, Timeout: 20 * time.Second}, c.out)
	if err != nil {
		t.Fatalf("%q: %v", cmd, err)
	}
	return res, c.text()
}

func TestHostViewSeesHostFiles(t *testing.T) {
	r := newViewRunner(t)
	want, err := os.ReadDir("/usr/share")
	if err != nil {
		t.Fatal(err)
	}
	res, out := runIn(t, r, "observe", "", "ls -1 /usr/share | wc -l; cat /etc/hostname; hostname; ls -d /var/lib")
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	lines := strings.Split(out, "\n")
	if got := strings.TrimPrefix(lines[0], "stdout: "); got != strconv.Itoa(len(want)) {
		t.Errorf("/usr/share has %s entries in the sandbox, %d on the host", got, len(want))
	}
	host, _ := os.Hostname()
	if !strings.Contains(out, "stdout: "+host+"\nstdout: "+host) {
		t.Errorf("hostname under view host: want %q twice, got\n%s", host, out)
	}
	if !strings.Contains(out, "/var/lib") {
		t.Errorf("/var/lib missing under view host:\n%s", out)
	}
	// "How much disk is free?" is about the host's root.
	var st syscall.Statfs_t
	if err := syscall.Statfs("/", &st); err != nil {
		t.Fatal(err)
	}
	_, out = runIn(t, r, "observe", "", "stat -f -c '%b %S' /")
	if want := fmt.Sprintf("stdout: %d %d", st.Blocks, st.Bsize); out != want {
		t.Errorf("df / under view host: %q, want the host root's %q", out, want)
	}
}

func TestHostViewIsReadOnly(t *testing.T) {
	r := newViewRunner(t)
	for _, p := range []string{"/usr/amf-probe", "/etc/amf-probe", "/var/amf-probe", "/home/amf-probe"} {
		res, out := runIn(t, r, "observe", "", "echo x > "+p)
		if res.ExitCode == 0 {
			t.Errorf("wrote %s under view host: %s", p, out)
		}
		if _, err := os.Stat(p); err == nil {
			os.Remove(p)
			t.Errorf("%s landed on the host", p)
		}
	}
	if res, out := runIn(t, r, "observe", "", "echo ok > /tmp/x && cat /tmp/x && echo ok > /work/y && cat /work/y"); res.ExitCode != 0 {
		t.Errorf("/tmp and /work not writable under view host: %s", out)
	}
}

// plant writes a secret where the default masks must hide it, unless
// the host has its own there (hidden just the same), and removes it
// after the test.
func plant(t *testing.T, path, body string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		return // the host's own: masked just the same
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
}

func TestHostViewMasksSecrets(t *testing.T) {
	const secret = "amf-planted-secret"
	plant(t, "/etc/shadow", secret)
	plant(t, "/root/.ssh/id_amftest", secret)
	home := filepath.Join("/home", "amf-mask-test")
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	plant(t, filepath.Join(home, ".aws", "credentials"), secret)
	plant(t, filepath.Join(home, ".bash_history"), secret)
	if err := os.WriteFile(filepath.Join(home, "notes.txt"), []byte("plain"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newViewRunner(t)
	for _, cmd := range []string{
		"cat /etc/shadow",
		"ls -a /root; cat /root/.ssh/* 2>&1",
		"cat ~/.ssh/id_* 2>&1",
		"ls -a " + home + "/.aws; cat " + home + "/.aws/credentials 2>&1",
		"cat " + home + "/.bash_history",
		"grep -r amf-planted " + home + " /etc/shadow /root 2>/dev/null",
		"ls -a " + r.cfg.stateDir() + " 2>&1",
	} {
		_, out := runIn(t, r, "observe", "", cmd)
		if strings.Contains(out, secret) {
			t.Errorf("%q showed a masked secret:\n%s", cmd, out)
		}
		for _, leak := range []string{"Permission denied", "Operation not permitted"} {
			if strings.Contains(out, leak) {
				t.Errorf("%q: a masked path answers %q, which tells it exists:\n%s", cmd, leak, out)
			}
		}
	}
	// What is not masked is there.
	if _, out := runIn(t, r, "observe", "", "cat "+home+"/notes.txt"); !strings.Contains(out, "plain") {
		t.Errorf("an ordinary file in a home is hidden: %s", out)
	}
	// A profile's own mask list hides more.
	if _, out := runIn(t, r, "observe", "", "test -s /etc/shadow && echo has-bytes || echo empty"); !strings.Contains(out, "empty") {
		t.Errorf("/etc/shadow is not empty under view host: %s", out)
	}
}

func TestHostPidsSeeButCannotTouch(t *testing.T) {
	r := newViewRunner(t)
	// A host process with a secret in its environment.
	sleeper := exec.Command("sleep", "60")
	sleeper.Env = []string{"AMF_HOST_SECRET=amf-environ-secret"}
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	pid := strconv.Itoa(sleeper.Process.Pid)

	_, out := runIn(t, r, "observe", "", "ps -eo pid,comm | grep -w "+pid)
	if !strings.Contains(out, "sleep") {
		t.Fatalf("ps under pids host does not show host process %s:\n%s", pid, out)
	}
	for _, cmd := range []string{
		"cat /proc/" + pid + "/environ",
		"tr '\\0' '\\n' < /proc/" + pid + "/environ",
		"ls -l /proc/" + pid + "/fd/ 2>&1",
		"ls /proc/" + pid + "/root/ 2>&1",
		"cat /proc/" + pid + "/root/etc/hostname 2>&1",
		"head -c 64 /proc/" + pid + "/mem 2>&1",
		"ls /proc/1/root/ 2>&1",
	} {
		res, out := runIn(t, r, "observe", "", cmd)
		if strings.Contains(out, "amf-environ-secret") || (res.ExitCode == 0 && strings.Contains(cmd, "/root/etc")) {
			t.Errorf("%q read another process's private state:\n%s", cmd, out)
		}
	}
	runIn(t, r, "observe", "", "kill -9 "+pid+"; kill -STOP "+pid+"; python3 -c 'import os; os.kill("+pid+", 9)' 2>&1")
	if err := sleeper.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("a sandbox under pids host killed host process %s: %v", pid, err)
	}
	if b, _ := os.ReadFile("/proc/" + pid + "/stat"); strings.Contains(string(b), ") T ") {
		t.Fatalf("a sandbox under pids host stopped host process %s", pid)
	}
}

func TestWorkspaceRWOwnedByDirOwner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "proj")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const owner = 4321
	if err := os.Chown(dir, owner, owner); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("input\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(dir, "in.txt"), owner, owner)
	r := newViewRunner(t, Workspace{Name: "proj", Path: dir, Mode: WorkspaceRW})
	res, out := runIn(t, r, "workspace", "proj", "pwd; cat in.txt; echo hi > note.txt; mkdir sub && echo deep > sub/f; echo id=$(id -u):$(id -g); stat -c owner=%u:%g in.txt")
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	if !strings.Contains(out, "id=4321:4321") || !strings.Contains(out, "owner=4321:4321") {
		t.Errorf("the command does not act as the workspace's owner, as the host names it:\n%s", out)
	}
	if !strings.Contains(out, "stdout: "+dir+"\nstdout: input") {
		t.Errorf("the workspace is not the working directory at its host path:\n%s", out)
	}
	for _, f := range []string{"note.txt", "sub", "sub/f"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("%s did not land on the host: %v", f, err)
		}
		if uid, gid := ownerOf(fi); uid != owner || gid != owner {
			t.Errorf("%s is owned by %d:%d on the host, want the workspace owner %d:%d", f, uid, gid, owner, owner)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "note.txt")); string(b) != "hi\n" {
		t.Errorf("note.txt = %q", b)
	}
}

func TestWorkspaceRO(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "in.txt"), []byte("input\n"), 0o644)
	r := newViewRunner(t, Workspace{Name: "docs", Path: dir, Mode: WorkspaceRO})
	res, out := runIn(t, r, "workspace", "docs", "cat in.txt; echo x > note.txt; echo x >> in.txt; rm in.txt; touch z")
	if !strings.Contains(out, "input") {
		t.Errorf("a ro workspace is not readable:\n%s", out)
	}
	if !strings.Contains(out, "Read-only file system") || res.ExitCode == 0 {
		t.Errorf("writes to a ro workspace did not fail clearly (exit %d):\n%s", res.ExitCode, out)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("a ro workspace was changed: %v", ents)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "in.txt")); string(b) != "input\n" {
		t.Errorf("in.txt = %q", b)
	}
}

func TestWorkspaceRefusals(t *testing.T) {
	r := newViewRunner(t, Workspace{Name: "proj", Path: t.TempDir(), Mode: WorkspaceRW})
	for _, c := range []struct{ profile, workspace, want string }{
		{"workspace", "nope", `unknown workspace "nope"; declared workspaces: proj`},
		{"strict", "proj", `profile "strict" may not use workspace "proj"`},
		{"observe", "proj", `profile "observe" may not use workspace "proj"`},
	} {
		_, err := r.Run(context.Background(), Spec{Command: "true", Profile: c.profile, Workspace: c.workspace}, nil)
		var ref *Refusal
		if !errors.As(err, &ref) || ref.Rule != RuleWorkspace || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s in %s: got %v, want a workspace refusal saying %q", c.profile, c.workspace, err, c.want)
		}
		if err2 := r.CheckWorkspace(c.profile, c.workspace); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("CheckWorkspace(%s, %s) = %v, Run said %v", c.profile, c.workspace, err2, err)
		}
	}
}
