//go:build linux

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A masked file whose path holds a glob metacharacter ('[', '\\', '*',
// '?') in a directory the sandbox's init may enter but not list (mode
// 0711, the usual home for ~/public_html): the runner globs the mask on
// the host and hands the init the literal match, which the init globs
// again as a pattern, so "/home/a[x]/.npmrc" names "/home/ax/.npmrc" and
// "/home/a\q/.npmrc" names "/home/aq/.npmrc"; a name that is not UTF-8
// reaches the init as another (the task is JSON). Nothing is masked, and a
// command that knows the name reads the file (mode 0644, as npm, pip and
// Maven write theirs).
func TestAttackMaskedFileUnderMetaNamedHome(t *testing.T) {
	r := newAttackRunner(t)
	const secret = "amf-attack-meta-home-secret"
	// The last is no UTF-8: the task's JSON turns its byte into U+FFFD,
	// and the init masks a path that does not exist.
	for _, home := range []string{"/home/amfattack[x]", `/home/amfattack\q`, "/home/amfattack?", "/home/amfattack\xff"} {
		if err := os.Mkdir(home, 0o711); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(home) })
		if err := os.Chmod(home, 0o711); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{".npmrc", ".aws/credentials", ".bash_history"} {
			if err := os.WriteFile(filepath.Join(home, f), []byte(secret+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, out := runIn(t, r, "attacker", "", `
h=$(printf '%s' '`+strings.ReplaceAll(home, "\xff", `'"$(printf '\377')"'`)+`')
cat "$h/.npmrc" "$h/.aws/credentials" "$h/.bash_history" 2>&1
true`)
		if strings.Contains(out, secret) {
			t.Errorf("a masked file under %s was read:\n%s", home, out)
		}
	}
}

// Any host user with a home can point a masked name there at anything
// (~/.ssh -> /usr, ~/.netrc -> /etc/resolv.conf): the init follows a
// masked symlink wherever it leads and blanks its target, so every
// host-view command on the host, any user's, loses /usr (and with it
// /bin/bash) or whichever path the link names. A link a user made must
// hide only what that user could hide: their own files.
func TestAttackHostUserLinkBlanksSandboxView(t *testing.T) {
	r := newAttackRunner(t)
	host, _ := os.ReadFile("/etc/hostname")
	for _, c := range []struct{ link, target, cmd, want string }{
		{".ssh", "/usr", "ls /usr/bin | wc -l", ""},
		{".netrc", "/etc/hostname", "cat /etc/hostname", strings.TrimSpace(string(host))},
		{".aws", "/etc", "ls /etc | wc -l", ""},
	} {
		home := "/home/amfattack-links"
		if err := os.Mkdir(home, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(home, c.link)
		if err := os.Symlink(c.target, p); err != nil {
			t.Fatal(err)
		}
		os.Lchown(p, 4242, 4242)
		os.Chown(home, 4242, 4242)
		var col collector
		res, err := r.Run(context.Background(), Spec{Command: c.cmd, Profile: "attacker", Timeout: 20 * time.Second}, col.out)
		os.RemoveAll(home)
		out := col.text()
		switch {
		case err != nil:
			t.Errorf("a host user's link %s -> %s stops every host-view command: %v", c.link, c.target, err)
		case res.ExitCode != 0 || strings.Contains(out, "stdout: 0\n") || !strings.Contains(out, "stdout: "+c.want):
			t.Errorf("a host user's link %s -> %s blanked it in the sandbox (exit %d):\n%s", c.link, c.target, res.ExitCode, out)
		}
	}
}
