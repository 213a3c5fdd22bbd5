//go:build linux

package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/testenv"
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
	r := newAttackRunner(t,
		Workspace{Name: "outer", Path: outer, Mode: WorkspaceRW},
		Workspace{Name: "inner", Path: inner, Mode: WorkspaceRW},
		Workspace{Name: "innerro", Path: inner, Mode: WorkspaceRO})

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
