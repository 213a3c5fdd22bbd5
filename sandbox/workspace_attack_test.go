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
	"github.com/amf-os/amf/sandbox/policy"
)

// mknod(2) makes regular files and fifos with whatever mode bits it is
// given: with S_ISUID in them a file left in a writable workspace owned
// by root would be a set-id root file on the host, which a later write
// by host root (cp onto it keeps the inode and, with CAP_FSETID, the
// bits) turns into a set-id root binary. The filter refuses set-id modes
// on mknod as on chmod and open.
func TestSetidByMknodInWorkspaceIsRefused(t *testing.T) {
	r, dir, _ := rwWorkspace(t)
	if err := os.Chown(dir, 0, 0); err != nil { // files land as root
		t.Fatal(err)
	}
	_, out := runIn(t, r, "attacker", "ws", `
python3 -c 'import os,stat; os.mknod("mk", stat.S_IFREG|0o6755)' 2>&1
python3 -c 'import os,stat; os.mknod("fifo", stat.S_IFIFO|0o6755)' 2>&1
python3 -c 'import os,stat; os.mknod("plain", stat.S_IFREG|0o644)' 2>&1
true`)
	for _, f := range []string{"mk", "fifo"} {
		if fi, err := os.Lstat(filepath.Join(dir, f)); err == nil && fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
			t.Errorf("%s is %v on the host: a set-id file left by a sandbox (mknod)\n%s", f, fi.Mode(), out)
		}
	}
	// mknod itself still works without set-id bits.
	if _, err := os.Lstat(filepath.Join(dir, "plain")); err != nil {
		t.Errorf("a plain mknod failed: %v\n%s", err, out)
	}
}

// Two workspaces, one inside the other, would let a command in the
// outer one replace the inner directory with a symlink to a masked or
// host directory, which the runner would then mount for the inner
// one's next task. Such a layout is refused when it is declared.
func TestOverlappingWorkspacesAreRefused(t *testing.T) {
	testenv.NeedRoot(t)
	outer := t.TempDir()
	inner := filepath.Join(outer, "inner")
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{StateDir: t.TempDir(), WarmInits: -1, Workspaces: []Workspace{
		{Name: "outer", Path: outer, Mode: WorkspaceRW}, {Name: "inner", Path: inner, Mode: WorkspaceRO}}})
	if !errors.Is(err, ErrBadProfiles) || !strings.Contains(err.Error(), "overlap") {
		t.Fatalf("nested workspaces declared: %v", err)
	}
}

// A workspace whose path turns into a symlink after it was declared (a
// host user, or a command in another writable directory, swapped it) is
// not followed: the command does not start, and nothing lands where the
// link points.
func TestWorkspaceSwappedForASymlinkIsNotFollowed(t *testing.T) {
	testenv.NeedRoot(t)
	dir := filepath.Join(t.TempDir(), "ws")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	target := t.TempDir() // a host directory no workspace names
	r := newAttackRunner(t, Workspace{Name: "ws", Path: dir, Mode: WorkspaceRW})
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, dir); err != nil {
		t.Fatal(err)
	}
	var c collector
	_, err := r.Run(context.Background(), Spec{Command: "echo pwned > planted", Profile: "attacker", Workspace: "ws", Timeout: 20 * time.Second}, c.out)
	if err == nil || !strings.Contains(err.Error(), "symlinks are not followed") {
		t.Errorf("a workspace swapped for a symlink started: %v\n%s", err, c.text())
	}
	if _, err := os.Stat(filepath.Join(target, "planted")); err == nil {
		t.Errorf("a command wrote through a workspace swapped for a symlink into %s", target)
	}
}

// Masks are applied by path when each command starts, so a writable
// workspace that holds a masked path (a home with .docker/config.json)
// would let one command rename the secret's parent and the next read
// it, and one that could hold one would let a command plant
// ~/.ssh/authorized_keys. Such a writable workspace is refused when it
// is declared; the same directory read-only is fine, and stays masked.
func TestWritableWorkspaceHoldingAMaskIsRefused(t *testing.T) {
	testenv.NeedRoot(t)
	home, err := os.MkdirTemp("/home", "amf-mask-ws-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	const secret = "amf-attack-docker-auth"
	if err := os.MkdirAll(home+"/.docker", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(home+"/.docker/config.json", []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ws := range []Workspace{
		{Name: "home", Path: home, Mode: WorkspaceRW},
		{Name: "homes", Path: "/home", Mode: WorkspaceRW},
	} {
		_, err := New(Config{StateDir: t.TempDir(), WarmInits: -1, Workspaces: []Workspace{ws}})
		if !errors.Is(err, ErrBadProfiles) || !strings.Contains(err.Error(), "masked path") {
			t.Errorf("writable workspace %s declared: %v", ws.Path, err)
		}
	}
	r := newAttackRunner(t, Workspace{Name: "home", Path: home, Mode: WorkspaceRO})
	_, out := runIn(t, r, "attacker", "home", "mv .docker .d 2>&1; cat .docker/config.json .d/config.json 2>&1; true")
	if strings.Contains(out, secret) {
		t.Errorf("a masked file in a read-only workspace was read:\n%s", out)
	}
}

// A mask that names a symlink hides what the link names: an operator's
// mask of a key that is a link into an archive, or a state dir reached
// through one, hides the file both through the link and where it lies.
func TestMaskNamingASymlinkHidesItsTarget(t *testing.T) {
	testenv.NeedRoot(t)
	parent, err := os.MkdirTemp("/var/tmp", "amf-mask-") // outside /tmp, which a host view replaces
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	const secret = "amf-attack-linked-key"
	target := filepath.Join(parent, "archive-key1.pem")
	link := filepath.Join(parent, "key.pem")
	if err := os.WriteFile(target, []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("archive-key1.pem", link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "profiles.yaml")
	if err := os.WriteFile(file, []byte(string(policy.BuiltinProfiles())+(`
  masked:
    view: host
    mask: ["`+link+`"]
    rules: [syntax]
`)), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{StateDir: t.TempDir(), WarmInits: -1, ProfilesFile: file})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	_, out := runIn(t, r, "masked", "", "cat "+link+" 2>&1; cat "+target+" 2>&1; true")
	if strings.Contains(out, secret) {
		t.Errorf("the file the mask %s names (a symlink) was read:\n%s", link, out)
	}
}
