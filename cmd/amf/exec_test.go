package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/testenv"
)

// TestExec runs `amf exec` as an operator would: the command's exit code
// comes back, a refusal is printed with its rule and exits 126.
func TestExec(t *testing.T) {
	testenv.NeedRoot(t)
	cases := []struct {
		name   string
		args   []string
		code   int
		output string
	}{
		{"runs confined", []string{"--", "id -un; exit 3"}, 3, "amf"},
		{"refuses with the rule", []string{"--", "sudo", "id"}, 126, "refused by rule root-escalation:"},
		{"several words are argv", []string{"--", "sh", "-c", "echo hi | tr a-z A-Z"}, 0, "HI"},
		{"one word is shell text", []string{"--", "echo hi | tr a-z A-Z"}, 0, "HI"},
		{"syntax error", []string{"--", "echo 'open"}, 126, "refused by rule syntax: line 1"},
		{"timeout kills", []string{"--timeout", "500ms", "--", "sleep 30"}, 137, "timed out"},
		{"network profile", []string{"--profile", "network", "--", "true"}, 0, ""},
		{"unknown profile", []string{"--profile", "nope", "--", "true"}, 126, "refused by rule profile"},
		{"workspace", []string{"--workspace", "tmp=/usr/share:ro", "--", "pwd; touch x"}, 1, "/usr/share"},
		{"workspace strict", []string{"--workspace", "tmp=/usr/share", "--profile", "strict", "--", "pwd"}, 126, "refused by rule workspace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(amfBin, append([]string{"exec", "--state-dir", t.TempDir()}, tc.args...)...)
			out, err := cmd.CombinedOutput()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			t.Logf("amf exec %s → %d\n%s", strings.Join(tc.args, " "), code, out)
			if code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			if !strings.Contains(string(out), tc.output) {
				t.Errorf("output lacks %q", tc.output)
			}
		})
	}
}

// TestShellCommand: the words an operator types reach the command as the
// same words, run by a real bash.
func TestShellCommand(t *testing.T) {
	for _, words := range [][]string{
		{"echo hi | tr a-z A-Z"},
		{"a b", "c$d", "'q'", `"dq"`, "x;y", "$(id)", "`id`", "*", "~", "tab\there", "new\nline", "caf\xe9", ""},
	} {
		argv := append([]string{"printf", "<%s>"}, words...)
		if len(words) == 1 {
			argv = words
		}
		cmd, err := shellCommand(argv)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("bash", "-c", cmd).Output()
		if err != nil {
			t.Fatalf("%q: %v", cmd, err)
		}
		want := "HI\n"
		if len(words) > 1 {
			want = "<" + strings.Join(words, "><") + ">"
		}
		if string(out) != want {
			t.Errorf("%q printed %q, want %q", cmd, out, want)
		}
	}
	if _, err := shellCommand([]string{"echo", "a\x00b"}); err == nil {
		t.Error("a NUL byte was quoted")
	}
}
