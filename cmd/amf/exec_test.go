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
		{"syntax error", []string{"--", "echo 'open"}, 126, "refused by rule syntax: line 1"},
		{"timeout kills", []string{"--timeout", "500ms", "--", "sleep 30"}, 137, "timed out"},
		{"network profile", []string{"--profile", "network", "--", "true"}, 0, ""},
		{"unknown profile", []string{"--profile", "nope", "--", "true"}, 126, "refused by rule profile"},
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
