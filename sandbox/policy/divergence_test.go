package policy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/testenv"
)

// TestLineBreaksHideNoCommand takes commands strict refuses for what
// they run (cat /etc/shadow, in substitutions, here-documents,
// expansions, functions, groups), puts a line continuation, a newline, a
// comment ending in a backslash or a lone backslash at every position,
// and runs every variant the checker accepts through bash, which logs
// each command it would run instead of running it: none may be the
// refused one. A reading of line breaks the parser does not share with
// bash shows up here as a command the checker never saw.
func TestLineBreaksHideNoCommand(t *testing.T) {
	bash := testenv.NeedBinary(t, "bash")
	dir := t.TempDir()
	log, startup := filepath.Join(dir, "log"), filepath.Join(dir, "startup")
	// With no PATH, every program name reaches the handler.
	handler := "command_not_found_handle() { { printf '%s\\037' \"$@\"; printf '\\036'; } >> " + log + "; }\n"
	if err := os.WriteFile(startup, []byte(handler), 0o644); err != nil {
		t.Fatal(err)
	}
	const hidden = "cat\x1f/etc/shadow\x1f\x1e"
	templates := []string{
		`cat /etc/shadow`, `echo "$(cat /etc/shadow)"`, `x=$(cat /etc/shadow)`,
		"cat <<EOF\n$(cat /etc/shadow)\nEOF\n", `echo ${x:-$(cat /etc/shadow)}`,
		`echo "${x:-$(cat /etc/shadow)}"`, `echo $((x[$(cat /etc/shadow)]))`,
		"echo `cat /etc/shadow`", `echo "$(echo $(cat /etc/shadow))"`, `echo <(cat /etc/shadow)`,
		`[[ $(cat /etc/shadow) ]]`, `case $(cat /etc/shadow) in *) ;; esac`,
		`f() { cat /etc/shadow; }; f`, `{ cat /etc/shadow; }`, `(cat /etc/shadow)`,
		`a=( $(cat /etc/shadow) )`, `: $[ $(cat /etc/shadow) ]`,
	}
	accepted := 0
	for _, tpl := range templates {
		if Validate(tpl, "strict") == nil {
			t.Fatalf("%q is accepted as written: the probe needs a refused command", tpl)
		}
		for _, brk := range []string{"\\\n", "\n", " #\\\n", "\\"} {
			for i := 0; i <= len(tpl); i++ {
				c := tpl[:i] + brk + tpl[i:]
				if Validate(c, "strict") != nil {
					continue
				}
				accepted++
				os.Remove(log)
				cmd := exec.Command(bash, "--norc", "-c", "--", c)
				cmd.Env = []string{"PATH=/nonexistent", "BASH_ENV=" + startup}
				cmd.Dir = dir
				cmd.Run()
				if b, _ := os.ReadFile(log); strings.Contains(string(b), hidden) {
					t.Errorf("accepted, and bash runs cat /etc/shadow: %q", c)
				}
			}
		}
	}
	t.Logf("%d accepted variants, run by bash", accepted)
	if accepted < 100 {
		t.Errorf("only %d variants accepted: the probe no longer reaches bash", accepted)
	}
}
