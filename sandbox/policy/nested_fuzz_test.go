package policy

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// quoteAlphabet is what the nested-quoting fuzz target builds its text
// from: quotes, backslashes, dollars and spaces, and no character that
// would make bash run anything but printf (newline ; & | < > ( `).
const quoteAlphabet = "acdehostw/\\\"' $.-"

// nestedWords returns the words of the one printf the checker found in
// a nested script, and whether they are all known before the shell runs.
func nestedWords(command string) ([]string, bool) {
	c := newChecker(DefaultPolicy().profiles["trusted"], command)
	var got [][]word
	c.called = func(depth int, ws []word) {
		if depth > 0 && ws[0].text == "printf" {
			got = append(got, ws)
		}
	}
	if c.script(command, 0) != nil || len(got) != 1 {
		return nil, false
	}
	var out []string
	if len(got[0]) < 3 {
		return nil, false
	}
	for _, w := range got[0][3:] { // after printf, its format and _
		if !w.static || w.glob {
			return nil, false
		}
		out = append(out, w.text)
	}
	return out, true
}

// bashWords runs command with bash in an empty directory and returns the
// arguments printf received after its first, _, which is there so that
// no arguments and one empty argument print differently.
func bashWords(t *testing.T, dir, command string) ([]string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "--norc", "--noprofile", "-c", command)
	cmd.Dir = dir
	// No PATH: printf is a builtin, and nothing else should run.
	cmd.Env = []string{"PATH=" + dir, "LC_ALL=C"}
	out, err := cmd.Output()
	if err != nil {
		return nil, false
	}
	fields := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if fields[0] != "_" {
		return nil, false
	}
	return fields[1:], true
}

// FuzzNestedQuoting builds text given to bash -c "…" and eval "…" from
// quotes, backslashes and dollars, runs it through real bash, and
// asserts the checker judged exactly the words bash handed the nested
// command: a nested script the checker reads differently is a bypass.
func FuzzNestedQuoting(f *testing.F) {
	if _, err := exec.LookPath("bash"); err != nil {
		f.Fatalf("the nested-quoting fuzz target needs bash: %v", err)
	}
	for _, s := range []string{`\"/etc/shadow\"`, `\\\"a b\\\"`, `'a\"b'`, `a\\b \$a`, `\'a\'`, `$'a\'b'`, `\\\\"`} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(1))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, raw []byte, form uint8) {
		if len(raw) > 64 {
			return
		}
		var b strings.Builder
		for _, r := range raw {
			if i := strings.IndexByte(quoteAlphabet, r); i >= 0 {
				b.WriteByte(r)
			} else {
				b.WriteByte(quoteAlphabet[int(r)%len(quoteAlphabet)])
			}
		}
		text := b.String()
		var command string
		switch form % 3 {
		case 0:
			command = `bash -c "printf '%s\\0' _ ` + text + `"`
		case 1:
			command = `eval "printf '%s\\0' _ ` + text + `"`
		default:
			command = `bash -c 'eval "printf \"%s\\\\0\" _ ` + strings.ReplaceAll(text, "'", "") + `"'`
		}
		want, ok := nestedWords(command)
		if !ok {
			return // the checker does not claim to know these words
		}
		got, ran := bashWords(t, dir, command)
		if !ran {
			return
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s\nbash ran printf with %q\nthe checker saw        %q", command, got, want)
		}
	})
}
