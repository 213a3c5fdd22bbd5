package main

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// commandPaths are every command and subcommand as typed, with whether
// each dispatches to subcommands.
func commandPaths() (paths [][]string, groups map[string]command) {
	groups = map[string]command{}
	var walk func(path []string, c command)
	walk = func(path []string, c command) {
		paths = append(paths, path)
		if len(c.subs) > 0 {
			groups[strings.Join(path, " ")] = c
		}
		for _, s := range c.subs {
			walk(append(slices.Clip(path), s.name), s)
		}
	}
	for _, c := range sortedCommands() {
		walk([]string{c.name}, c)
	}
	return paths, groups
}

func amfOutput(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(amfBin, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// TestHelpAtEveryLevel: --help and -h on every command and subcommand
// exit 0 and print its usage on stdout; every flag reads --name PLACEHOLDER
// with a placeholder in capitals or a list of choices, never a word
// lifted from the help text.
func TestHelpAtEveryLevel(t *testing.T) {
	paths, _ := commandPaths()
	if len(paths) < 30 {
		t.Fatalf("only %d commands in the tree", len(paths))
	}
	flagLine := regexp.MustCompile(`^  --?[a-z0-9-]+( ([A-Z][A-Z0-9_=-]*|[a-z]+(\|[a-z]+)+|json))?$`)
	for _, path := range paths {
		for _, h := range []string{"--help", "-h"} {
			out, errOut, code := amfOutput(t, append(slices.Clip(path), h)...)
			name := strings.Join(path, " ")
			if code != 0 {
				t.Errorf("amf %s %s exited %d: %s", name, h, code, errOut)
				continue
			}
			if !strings.Contains(out, "Usage: amf "+name) {
				t.Errorf("amf %s %s printed no usage on stdout:\n%s", name, h, out)
			}
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "  -") && !flagLine.MatchString(l) {
					t.Errorf("amf %s: flag line %q does not read --name PLACEHOLDER", name, l)
				}
			}
		}
	}
	if out, _, code := amfOutput(t, "help", "auth", "token"); code != 0 || !strings.Contains(out, "Usage: amf auth token") {
		t.Errorf("amf help auth token: exit %d\n%s", code, out)
	}
	if out, _, code := amfOutput(t, "--help"); code != 0 || !strings.Contains(out, "\n  tasks ") {
		t.Errorf("amf --help: exit %d\n%s", code, out)
	}
}

// TestUnknownSubcommandNamesTheOnesThatExist: at every level a word that
// is no subcommand exits 2 and lists them all; no words at all is the
// usage, also exit 2, unless the command runs bare.
func TestUnknownSubcommandNamesTheOnesThatExist(t *testing.T) {
	_, groups := commandPaths()
	for name, g := range groups {
		path := strings.Fields(name)
		_, errOut, code := amfOutput(t, append(path, "no-such-thing")...)
		if code != 2 {
			t.Errorf("amf %s no-such-thing exited %d, want 2", name, code)
		}
		if !strings.Contains(errOut, `unknown subcommand "no-such-thing"`) {
			t.Errorf("amf %s no-such-thing: %q does not name the word", name, errOut)
		}
		for _, s := range g.subs {
			if !strings.Contains(errOut, s.name) {
				t.Errorf("amf %s no-such-thing: %q does not name %s", name, errOut, s.name)
			}
		}
		if g.run != nil {
			continue // it runs bare (amf context is amf context show)
		}
		if _, errOut, code := amfOutput(t, path...); code != 2 || !strings.Contains(errOut, "Subcommands:") {
			t.Errorf("amf %s: exit %d, want 2 and the subcommands:\n%s", name, code, errOut)
		}
	}
	// A leaf's error names the whole path that reached it.
	if _, errOut, code := amfOutput(t, "auth", "creds"); code != 2 || !strings.Contains(errOut, "amf auth creds: takes one argument, a role") {
		t.Errorf("amf auth creds without a role: exit %d\n%s", code, errOut)
	}
	// An unknown flag: the flag's name and a hint, exit 2, no stray text.
	if _, errOut, code := amfOutput(t, "tasks", "ls", "--bogus"); code != 2 || !strings.Contains(errOut, "not defined: -bogus") ||
		!strings.Contains(errOut, "goes after --") || strings.Contains(errOut, ": usage") {
		t.Errorf("amf tasks ls --bogus: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := amfOutput(t, "no-such-command"); code != 2 || !strings.Contains(errOut, "run") {
		t.Errorf("amf no-such-command: exit %d\n%s", code, errOut)
	}
}

// TestFlagsAfterArguments: flags may follow the words they qualify;
// after -- everything is a word, even -x and --no-answer.
func TestFlagsAfterArguments(t *testing.T) {
	for _, c := range []struct {
		args     []string
		words    []string
		noAnswer bool
		pool     string
	}{
		{[]string{"list files", "--no-answer"}, []string{"list files"}, true, ""},
		{[]string{"--pool", "gpu", "a", "--no-answer", "b"}, []string{"a", "b"}, true, "gpu"},
		{[]string{"a", "--pool=gpu", "--", "--no-answer", "-x"}, []string{"a", "--no-answer", "-x"}, false, "gpu"},
		{[]string{"--", "a"}, []string{"a"}, false, ""},
		{[]string{"-", "--no-answer"}, []string{"-"}, true, ""},
		{nil, nil, false, ""},
	} {
		f := newFlags("test", "test")
		var noAnswer bool
		var pool string
		f.bool(&noAnswer, "no-answer", "", false, "")
		f.str(&pool, "pool", "", "", "")
		if err := f.parse(c.args); err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if !slices.Equal(f.Args(), c.words) && len(f.Args())+len(c.words) > 0 {
			t.Errorf("%q: words %q, want %q", c.args, f.Args(), c.words)
		}
		if noAnswer != c.noAnswer || pool != c.pool {
			t.Errorf("%q: no-answer=%v pool=%q, want %v %q", c.args, noAnswer, pool, c.noAnswer, c.pool)
		}
	}
	f := newFlags("test", "test")
	if err := f.parse([]string{"a", "--nope"}); err != errUsage {
		t.Errorf("an unknown flag after a word: %v, want the usage error", err)
	}
}

// TestCLIDocNamesTheInspectionCommands holds docs/CLI.md to the table:
// every inspection command has its row.
func TestCLIDocNamesTheInspectionCommands(t *testing.T) {
	doc, err := os.ReadFile("../../docs/CLI.md")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"| `amf workers", "| `amf pools"}
	for _, s := range commands["tasks"].subs {
		want = append(want, "| `amf tasks "+s.name)
	}
	for _, w := range want {
		if !strings.Contains(string(doc), w) {
			t.Errorf("docs/CLI.md has no row starting %q", w)
		}
	}
}
