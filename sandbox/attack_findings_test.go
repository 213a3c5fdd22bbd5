//go:build linux

package sandbox

import (
	"os"
	"path/filepath"
	"testing"
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
