//go:build linux

package sandbox

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/sandbox/policy"
)

// mknod(2) with S_IFREG makes a regular file with whatever mode bits it
// is given: the seccomp filter checks mknod's mode for S_IFCHR only, so
// S_ISUID and S_ISGID pass. In a writable workspace owned by root the
// file lands on the host as a set-id root file; a host program that
// later writes into it as root (cp onto an existing file keeps the
// inode and, with CAP_FSETID, its bits) turns it into a set-id root
// binary.
func TestAttackSetuidByMknodInWorkspace(t *testing.T) {
	r, dir, _ := rwWorkspace(t)
	os.Chown(dir, 0, 0) // a workspace owned by root: files land as root
	_, out := runIn(t, r, "attacker", "ws", `
python3 -c 'import os,stat; os.mknod("mk", stat.S_IFREG|0o6755)' 2>&1
python3 -c 'import os,stat; os.mknod("fifo", stat.S_IFIFO|0o6755)' 2>&1
ls -l
true`)
	for _, f := range []string{"mk", "fifo"} {
		fi, err := os.Lstat(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		if fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
			t.Errorf("%s is %v on the host: a set-id file left by a sandbox in a writable workspace (mknod)\n%s", f, fi.Mode(), out)
		}
	}
}

// The runner opens a workspace by its path, following symlinks
// (os.Stat, open_tree without AT_SYMLINK_NOFOLLOW, and no check that
// the path resolves to itself). When one declared workspace lies inside
// another writable one, a command in the outer one replaces the inner
// directory with a symlink, and the next task in the inner workspace
// gets whatever the link names mounted: a masked directory (read past
// the mask, which matches paths, not the mount's source) or, with rw, a
// host directory outside every workspace, written as its owner (root).
func TestAttackNestedWorkspaceSymlinkSwap(t *testing.T) {
	testenv.NeedRoot(t)
	secret := "amf-attack-secret"
	plant(t, "/root/.ssh/id_amfattack", secret)
	outer := filepath.Join(t.TempDir(), "outer")
	inner := filepath.Join(outer, "inner")
	if err := os.MkdirAll(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(outer, 4321, 4321)
	os.Chown(inner, 4321, 4321)
	target := t.TempDir() // a host directory no workspace names, owned by root
	r := attackRunnerUnlessRefused(t, "overlap",
		Workspace{Name: "outer", Path: outer, Mode: WorkspaceRW},
		Workspace{Name: "inner", Path: inner, Mode: WorkspaceRW},
		Workspace{Name: "innerro", Path: inner, Mode: WorkspaceRO})
	if r == nil {
		return
	}

	// Task 1, in the outer workspace: point inner at /root.
	runIn(t, r, "attacker", "outer", "rm -rf inner && ln -s /root/.ssh inner; ls -l")
	_, out := runIn(t, r, "attacker", "innerro", "cat id_amfattack 2>&1; true")
	if strings.Contains(out, secret) {
		t.Errorf("a masked secret was read through a workspace swapped for a symlink:\n%s", out)
	}

	// Task 2, in the outer workspace: point inner at a host directory.
	runIn(t, r, "attacker", "outer", "rm -f inner && ln -s "+target+" inner; ls -l")
	runIn(t, r, "attacker", "inner", "echo pwned > planted 2>&1; true")
	if b, err := os.ReadFile(filepath.Join(target, "planted")); err == nil {
		fi, _ := os.Stat(filepath.Join(target, "planted"))
		uid, _ := ownerOf(fi)
		t.Errorf("a command wrote %q to %s, outside every workspace, as uid %d", b, target, uid)
	}
}

// "~/" in a mask stands for /root and /home/* only, so the homes
// /etc/passwd gives service accounts elsewhere (postgres in
// /var/lib/postgresql, www-data in /var/www, git in /srv/git, jenkins
// in /var/lib/jenkins …) keep their .ssh, .pgpass, .npmrc, histories …
// in plain view of a host-view command.
func TestAttackMaskMissesHomesOutsideHome(t *testing.T) {
	testenv.NeedRoot(t)
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Skip(err)
	}
	home := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 {
			continue
		}
		h := filepath.Clean(f[5])
		if h == "/" || h == "/root" || strings.HasPrefix(h, "/home/") || strings.HasPrefix(h, "/bin") ||
			strings.HasPrefix(h, "/usr") || strings.HasPrefix(h, "/dev") || strings.HasPrefix(h, "/run") || strings.HasPrefix(h, "/proc") {
			continue
		}
		if fi, err := os.Stat(h); err == nil && fi.IsDir() {
			home = h
			break
		}
	}
	if home == "" {
		t.Skip("no home outside /root and /home on this host")
	}
	const secret = "amf-attack-npm-token"
	cred := filepath.Join(home, ".npmrc")
	if _, err := os.Lstat(cred); err == nil {
		t.Skipf("%s exists already", cred)
	}
	if err := os.WriteFile(cred, []byte("//registry.npmjs.org/:_authToken="+secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(cred) })
	r := newAttackRunner(t)
	_, out := runIn(t, r, "attacker", "", "cat "+cred+" 2>&1; true")
	if strings.Contains(out, secret) {
		t.Errorf("%s (a home from /etc/passwd) is not masked:\n%s", cred, out)
	}
	// The checker judges by the same list.
	if policy.Masked(cred, policy.ExpandMasks(policy.DefaultMasks)) == false {
		t.Errorf("policy.Masked(%q) is false: the checker lets commands name it", cred)
	}
}

// A masked path that exists looks empty, one that does not is missing,
// and /proc/self/mountinfo lists every mask applied: a command learns
// which homes hold .aws, .ssh, .kube … (docs/VIEW.md, Known limits: a
// mask is a mount, and making a path that does not exist look present
// would need a writable layer over the host's root). What it never
// learns is their content, by any name.
func TestAttackMaskedPathExistenceLeaks(t *testing.T) {
	testenv.NeedRoot(t)
	with := "/home/amfattack-with"
	if err := os.MkdirAll(with+"/.aws", 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(with) })
	const secret = "amf-attack-aws-key"
	os.WriteFile(with+"/.aws/credentials", []byte(secret), 0o644)
	r := newAttackRunner(t)
	_, out := runIn(t, r, "attacker", "", `
cat `+with+`/.aws/credentials /home/*/.aws/credentials 2>&1
find `+with+` -type f -exec cat {} + 2>&1
tar cf - -C /home amfattack-with 2>/dev/null | tar xOf - 2>&1
true`)
	if strings.Contains(out, secret) {
		t.Errorf("a masked file's content was read:\n%s", out)
	}
}

// Masks match paths when a command starts, and a mount moves with the
// directory that holds it: in a writable workspace that holds a masked
// path (a home, with .docker/config.json, .config/gcloud, .local/share/
// fish/fish_history …), one command renames the masked path's parent —
// not a mount point, so the rename is allowed, and the checker of the
// workspace profile accepts it — and the next command in the workspace
// reads the credentials at the new path, which no mask matches.
func TestAttackMaskDodgedByRenamingParent(t *testing.T) {
	testenv.NeedRoot(t)
	home := "/home/amfattack-ws"
	if _, err := os.Lstat(home); err == nil {
		t.Skipf("%s exists", home)
	}
	const secret = "amf-attack-docker-auth"
	for _, d := range []string{home + "/.docker", home + "/.config/gcloud"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	os.WriteFile(home+"/.docker/config.json", []byte(`{"auths":{"r":{"auth":"`+secret+`"}}}`), 0o600)
	os.WriteFile(home+"/.config/gcloud/credentials.db", []byte(secret), 0o600)
	filepath.Walk(home, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, 4321, 4321) })
	r := attackRunnerUnlessRefused(t, "may hold a masked path", Workspace{Name: "home", Path: home, Mode: WorkspaceRW})
	if r == nil {
		return
	}

	// Through the checker, as a task of the workspace profile would.
	res, out := runIn(t, r, "workspace", "home", "mv .docker .d && mv .config .c")
	if res.ExitCode != 0 {
		t.Logf("rename refused or failed (%d):\n%s", res.ExitCode, out)
	}
	_, out = runIn(t, r, "workspace", "home", "cat .d/config.json .c/gcloud/credentials.db; true")
	if strings.Contains(out, secret) {
		t.Errorf("masked credentials read after renaming their parent in a writable workspace:\n%s", out)
	}
}

// Every sandbox's command runs as the same host uid, and pids: host
// shows the host's procfs: Landlock scoping stops ptrace and signals,
// but not the /proc files guarded by ownership alone. A command of one
// task rewrites, for another task's process (another tenant's, on any
// runner of the host), oom_score_adj (making it the OOM killer's first
// pick), autogroup (its nice level), coredump_filter and clear_refs.
// (Its mountinfo stays readable: procfs serves every process's mountinfo
// to every reader, mode 0444 with no ptrace check, and the one switch
// that hides it, hidepid, hides the processes pids: host exists to show;
// docs/VIEW.md, Known limits.)
func TestAttackHostPidsTouchesOtherSandboxes(t *testing.T) {
	r := newAttackRunner(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runIn(t, r, "strict", "", "sleep 7.4321")
	}()
	time.Sleep(time.Second)
	_, out := runIn(t, r, "attacker", "", `
p=$(pgrep -f 'sleep 7.4321' | head -1)
test -n "$p" || { echo "no victim"; exit 0; }
echo 1000 > /proc/$p/oom_score_adj && echo "WROTE oom_score_adj"
echo 19 > /proc/$p/autogroup && echo "WROTE autogroup"
echo 0 > /proc/$p/coredump_filter && echo "WROTE coredump_filter"
true`)
	<-done
	for _, w := range []string{"WROTE"} {
		if strings.Contains(out, w) {
			t.Errorf("a command reached another sandbox's process through /proc:\n%s", out)
			break
		}
	}
}

// /proc/<pid>/net is the network namespace of that process, readable
// without ptrace access (procfs checks nothing more than the mode,
// 0555): under pids: host a command with no network reads the host's
// socket tables through /proc/1/net (docs/VIEW.md, Known limits). What
// it must not do is reach them: the host's listener is out of reach by
// any path a command has.
func TestAttackHostPidsShowsHostNetwork(t *testing.T) {
	r := newAttackRunner(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			got <- struct{}{}
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	_, out := runIn(t, r, "attacker", "", `
(echo hi > /dev/tcp/127.0.0.1/`+port+`) 2>&1 && echo CONNECTED
nsenter --net=/proc/1/ns/net true 2>&1 && echo ENTERED
python3 -c 'import os,socket; fd=os.open("/proc/1/ns/net", os.O_RDONLY); os.setns(fd, 0); socket.create_connection(("127.0.0.1", `+port+`))' 2>&1 && echo CONNECTED
true`)
	select {
	case <-got:
		t.Errorf("a command without network connected to the host's listener on 127.0.0.1:%s:\n%s", port, out)
	case <-time.After(200 * time.Millisecond):
	}
	if strings.Contains(out, "CONNECTED") || strings.Contains(out, "ENTERED") {
		t.Errorf("a command without network reached the host's network namespace:\n%s", out)
	}
}

// A mask hides only what exists when the command starts, and the
// checker does not judge masked paths named relative to the work dir:
// in a writable workspace that is a home without .ssh, the workspace
// profile accepts and runs `mkdir .ssh && echo KEY > .ssh/authorized_keys`,
// and the key lands in the user's home on the host (the same for
// .netrc, .pgpass, .aws/credentials, .docker/config.json …).
func TestAttackMaskedPathCreatedInWorkspace(t *testing.T) {
	testenv.NeedRoot(t)
	home := "/home/amfattack-mk"
	if _, err := os.Lstat(home); err == nil {
		t.Skipf("%s exists", home)
	}
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	os.Chown(home, 4321, 4321)
	r := attackRunnerUnlessRefused(t, "may hold a masked path", Workspace{Name: "home", Path: home, Mode: WorkspaceRW})
	if r == nil {
		return
	}
	res, out := runIn(t, r, "workspace", "home", "mkdir -p .ssh && echo 'ssh-ed25519 AAAA attacker' > .ssh/authorized_keys")
	if b, err := os.ReadFile(home + "/.ssh/authorized_keys"); err == nil {
		t.Errorf("the workspace profile ran a write to a masked path (exit %d) and it landed on the host: %q\n%s", res.ExitCode, b, out)
	}
}

// Masks are globbed inside the sandbox, as its init, after the pivot: a
// pattern whose wildcard lies in a directory the init may enter but not
// list (mode 0711, as web and service trees often are) matches nothing
// and masks nothing, while a command that knows or guesses the name
// reads the file (the checker is passed with any expansion it does not
// follow, e.g. ${x%Z}).
func TestAttackMaskGlobInUnlistableDir(t *testing.T) {
	testenv.NeedRoot(t)
	// Outside /tmp, which a host view replaces with its own.
	parent, err := os.MkdirTemp("/var/tmp", "amf-attack-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	os.Chmod(parent, 0o755)
	dir := filepath.Join(parent, "secrets")
	if err := os.Mkdir(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	const secret = "amf-attack-pem"
	if err := os.WriteFile(filepath.Join(dir, "server.pem"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{StateDir: t.TempDir(), WarmInits: -1, ProfilesFile: maskProfiles(t, dir+"/*.pem")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	_, out := runIn(t, r, "masked", "", "cat "+filepath.Join(dir, "server.pem")+" 2>&1; true")
	if strings.Contains(out, secret) {
		t.Errorf("a file matching the mask %s/*.pem was read:\n%s", dir, out)
	}
}

func maskProfiles(t *testing.T, mask string) string {
	file := filepath.Join(t.TempDir(), "profiles.yaml")
	yaml := string(policy.BuiltinProfiles()) + `
  masked:
    view: host
    mask: ["` + mask + `"]
    rules: [syntax]
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// A mask that names a symlink is skipped ("what it points at is masked
// where it lies, if it matches"), so the file it names stays readable
// through the link and at its target: an operator's --mask of
// /etc/letsencrypt/live/*/privkey.pem (links into ../../archive), or a
// state dir reached through a symlink (/var/lib/amf -> /data/amf, masked
// by the path the worker was given), hides nothing.
func TestAttackMaskNamingSymlink(t *testing.T) {
	testenv.NeedRoot(t)
	parent, err := os.MkdirTemp("/var/tmp", "amf-attack-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	os.Chmod(parent, 0o755)
	const secret = "amf-attack-linked-key"
	target := filepath.Join(parent, "archive-key1.pem")
	link := filepath.Join(parent, "key.pem")
	if err := os.WriteFile(target, []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("archive-key1.pem", link); err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{StateDir: t.TempDir(), WarmInits: -1, ProfilesFile: maskProfiles(t, link)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	_, out := runIn(t, r, "masked", "", "cat "+link+" 2>&1; cat "+target+" 2>&1; true")
	if strings.Contains(out, secret) {
		t.Errorf("the file the mask %s names (a symlink) was read:\n%s", link, out)
	}
}

// attackRunnerUnlessRefused is newAttackRunner for declarations the
// runner may refuse as they are made: the attack then cannot start, and
// the refusal must say why (want); nil is returned.
func attackRunnerUnlessRefused(t *testing.T, want string, ws ...Workspace) *NamespaceRunner {
	t.Helper()
	testenv.NeedRoot(t)
	file := filepath.Join(t.TempDir(), "profiles.yaml")
	yaml := string(policy.BuiltinProfiles()) + `
  attacker:
    view: host
    pids: host
    workspaces: ["*"]
    rules: [syntax]
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{StateDir: t.TempDir(), Workspaces: ws, WarmInits: -1, ProfilesFile: file})
	if err != nil {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("the declaration is refused, but not because it %s: %v", want, err)
		}
		return nil
	}
	t.Cleanup(func() { r.Close() })
	return r
}
