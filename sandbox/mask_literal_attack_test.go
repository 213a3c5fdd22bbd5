//go:build linux

package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
