package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/testenv"
)

// completions sources the script in the real shell and asks it what
// completes the given words.
func completions(t *testing.T, shell string, words ...string) []string {
	t.Helper()
	return completionsWith(t, shell, nil, words...)
}

// completionsWith completes with env added to the shell's environment.
func completionsWith(t *testing.T, shell string, env []string, words ...string) []string {
	t.Helper()
	path, err := exec.LookPath(shell)
	if err != nil {
		testenv.Skip(t, shell+" is not installed (apt-get install "+shell+")")
	}
	script, err := completionScript(shell)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "amf."+shell)
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	var prog string
	switch shell {
	case "bash":
		prog = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _amf; printf '%s\n' "${COMPREPLY[@]}"`
	case "zsh":
		// The completion system proper needs a terminal; compadd is
		// replaced by a printer, and the script must register itself.
		prog = `autoload -U compinit && compinit -u -D; source "$1"; shift
[[ ${_comps[amf]} == _amf ]] || { print "not registered"; exit 1 }
compadd() { shift; print -l -- "$@" }; _files() {}
words=("$@"); CURRENT=$#; _amf`
	case "fish":
		prog = `source $argv[1]; complete -C (string join -- ' ' (string escape -- $argv[2..-1]))`
	}
	args := []string{"-c", prog}
	if shell != "fish" {
		args = append(args, "amf-completion")
	}
	cmd := exec.Command(path, append(append(args, file), words...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", shell, err, out)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if w, _, _ := strings.Cut(l, "\t"); w != "" {
			got = append(got, w)
		}
	}
	slices.Sort(got)
	return got
}

func TestCompletionInEachShell(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			for _, c := range []struct {
				words []string
				want  []string
			}{
				{[]string{"amf", "me"}, []string{"memory"}},
				{[]string{"amf", "memory", "s"}, []string{"search"}},
				{[]string{"amf", "completion", "f"}, []string{"fish"}},
				{[]string{"amf", "w"}, []string{"worker", "workers"}},
				{[]string{"amf", "tasks", "l"}, []string{"logs", "ls"}},
				{[]string{"amf", "run", "--policy", "n"}, []string{"network"}},
				{[]string{"amf", "tasks", "ls", "--limit", "5", "-o", ""}, []string{"json", "table", "wide"}},
				{[]string{"amf", "tasks", "list", "-o", "w"}, []string{"wide"}},
				{[]string{"amf", "version", "-o", "j"}, []string{"json"}},
				{[]string{"amf", "tasks", "logs", "-"}, []string{"--context", "--creds", "--help", "--log-json", "--log-level", "--nats", "--prefix", "--tls-ca", "--tls-cert", "--tls-key", "-f", "-o"}},
				{[]string{"amf", "auth", "c"}, []string{"creds"}},
				{[]string{"amf", "auth", "token", "c"}, []string{"create"}},
				{[]string{"amf", "schedule", "pa"}, []string{"pause"}},
				{[]string{"amf", "run", "--no-"}, []string{"--no-answer"}},
				{[]string{"amf", "run", "--pool", "gpu", "list files", "--no-"}, []string{"--no-answer"}},
				{[]string{"amf", "auth", "creds", "--gr"}, []string{"--grant"}},
				{[]string{"amf", "memory", "search", "-k"}, []string{"-k"}},
			} {
				got := completions(t, shell, c.words...)
				if shell == "zsh" { // compadd gets every candidate; zsh filters by prefix
					got = slices.DeleteFunc(got, func(w string) bool { return !strings.HasPrefix(w, c.words[len(c.words)-1]) })
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("%q completes to %q, want %q", strings.Join(c.words, " "), got, c.want)
				}
			}
		})
	}
	if _, err := completionScript("tcsh"); err == nil || !strings.Contains(err.Error(), "bash, zsh or fish") {
		t.Fatalf("unknown shell: %v", err)
	}
}
