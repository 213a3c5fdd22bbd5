package policy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/testenv"
)

// TestDirectAgreesWithBash runs every tldr-pages command Direct takes
// through bash itself, with a shell function standing in for each program
// (bash calls a function by the name PATH would be searched for, with the
// words the command expands to), and asserts bash would have run the same
// program with the same arguments. A command Direct takes that bash reads
// otherwise — an expansion missed, a quote misread — fails here.
func TestDirectAgreesWithBash(t *testing.T) {
	bash := testenv.NeedBinary(t, "bash")
	corpus := tldrCorpus(t)
	funcName := regexp.MustCompile(`^[A-Za-z0-9_.+:@%,-]+$`)
	var defs, body strings.Builder
	var want [][]string
	names := map[string]bool{}
	taken := 0
	for _, ex := range corpus {
		argv, ok := Direct(ex.command, nil)
		if !ok {
			continue
		}
		taken++
		if strings.Contains(ex.command, "\n") || !funcName.MatchString(argv[0]) {
			continue
		}
		if !names[argv[0]] {
			names[argv[0]] = true
			// The function prints its name and arguments, NUL-separated,
			// then a record separator.
			defs.WriteString("function " + argv[0] + " { printf '%s\\0' \"$FUNCNAME\" \"$@\"; printf '\\036'; }\n")
		}
		body.WriteString(ex.command + "\n")
		want = append(want, argv)
	}
	cmd := exec.Command(bash, "-s")
	cmd.Stdin = strings.NewReader(defs.String() + body.String())
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=/nonexistent"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("bash: %v\n%s", err, stderr.String())
	}
	got := bytes.Split(bytes.TrimSuffix(out, []byte{036}), []byte{036})
	if len(got) != len(want) {
		t.Fatalf("bash ran %d commands, want %d", len(got), len(want))
	}
	for i, rec := range got {
		args := strings.Split(strings.TrimSuffix(string(rec), "\x00"), "\x00")
		if !slices.Equal(args, want[i]) {
			t.Errorf("bash runs %q, Direct gives %q", args, want[i])
		}
	}
	t.Logf("tldr-pages: %d of %d commands run without the shell (%.1f %%); %d checked against bash",
		taken, len(corpus), 100*float64(taken)/float64(len(corpus)), len(want))
	if len(want) < taken*9/10 {
		t.Errorf("only %d of %d checked", len(want), taken)
	}
}

// TestDirectRefusesWhatTheShellChanges lists commands whose words are not
// what bash would run, or that bash would run itself.
func TestDirectRefusesWhatTheShellChanges(t *testing.T) {
	for _, c := range []string{
		"ls *.go", "ls ~", "ls a=~/x", "echo {a,b}", "ls $HOME", `ls "$HOME"`,
		"ls $(pwd)", "ls `pwd`", "ls > x", "ls | wc", "ls; ls", "ls && ls",
		"A=1 ls", "ls &", "! ls", "true", "echo hi", "cd /", "printf x",
		"[ -e x ]", "[[ -e x ]]", "time ls", "ls a\\ b", `ls $'a\tb'`, `ls $"x"`,
		"(ls)", "{ ls; }", "if ls; then :; fi", "f() { ls; }", "ls ?", "ls [ab]",
		"ls @(a|b)", "ls <(true)", "", "   ", "# ls", `"" x`, `ls "a\"b"`,
		"ls $((1+2))", "coproc ls", "exec ls", "command ls", "ls\nls", "%1", "%vim x", "0\r", "ls\r-l", "ls \x01",
	} {
		if argv, ok := Direct(c, nil); ok {
			t.Errorf("Direct(%q) = %q, want the shell", c, argv)
		}
	}
	for _, env := range [][]string{
		{"BASH_ENV=/tmp/x"}, {"BASH_FUNC_ls%%=() { id; }"}, {"SHELLOPTS=xtrace"},
		{"ENV=/tmp/x"}, {"EXECIGNORE=*"}, {"PATH=/a", "PATH=/b"}, {"NOEQ"}, {"=z"},
	} {
		if _, ok := Direct("ls -l", env); ok {
			t.Errorf("Direct with env %q runs without the shell", env)
		}
	}
	for c, want := range map[string][]string{
		"ls -l":                  {"ls", "-l"},
		`ls 'a b' "c d" e'f'"g"`: {"ls", "a b", "c d", "efg"},
		"df -h # free space":     {"df", "-h"},
		"/usr/bin/uname -a":      {"/usr/bin/uname", "-a"},
		`grep -e '$x' "a'b"`:     {"grep", "-e", "$x", "a'b"},
		`'true'`:                 {"true"}, // quoted, still the builtin
	} {
		argv, ok := Direct(c, []string{"LANG=C"})
		if c == `'true'` {
			if ok {
				t.Errorf("Direct(%q) = %q, want the shell's builtin", c, argv)
			}
			continue
		}
		if !ok || !slices.Equal(argv, want) {
			t.Errorf("Direct(%q) = %q, %v; want %q", c, argv, ok, want)
		}
	}
}

// FuzzDirectAgreesWithBash feeds arbitrary text to Direct; whatever it
// takes must be, word for word, what bash runs: bash is asked with a
// function standing in for every program (a command Direct takes is one
// call, so bash calls the function by the same name, if bash calls it).
//
//	go test -run '^$' -fuzz FuzzDirectAgreesWithBash ./sandbox/policy/
func FuzzDirectAgreesWithBash(f *testing.F) {
	bash := testenv.NeedBinary(f, "bash")
	for _, c := range []string{
		"ls -l", `ls 'a b' "c d"`, "ls a=~", "ls {a,b}", `grep "a\"b" f`,
		"ls a#b", "ls \\\nx", `ls $'\x41'`, "ls '' \"\"", "ls -- -x", "ls\tx",
		"ls a'b'\"c\"d", "%1", "ls !x", "a=b", "ls x=y", "ls '*'", `ls "*"`,
	} {
		f.Add(c)
	}
	funcName := regexp.MustCompile(`^[A-Za-z0-9_.+:@,-]+$`)
	f.Fuzz(func(t *testing.T, cmd string) {
		argv, ok := Direct(cmd, nil)
		if !ok || !funcName.MatchString(argv[0]) {
			return
		}
		script := "function " + argv[0] + " { printf '%s\\0' \"$FUNCNAME\" \"$@\"; }\n" + cmd + "\n"
		c := exec.Command(bash, "-s")
		c.Stdin = strings.NewReader(script)
		c.Dir = t.TempDir()
		c.Env = []string{"PATH=/nonexistent"}
		out, _ := c.Output()
		got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		if !slices.Equal(got, argv) {
			t.Errorf("Direct(%q) = %q, bash runs %q", cmd, argv, got)
		}
	})
}

// bashVariables are the variables bash(1) names ("Shell Variables"),
// and those that make Debian's bash read ~/.bashrc.
var bashVariables = strings.Fields(`BASH BASHOPTS BASHPID BASH_ALIASES BASH_ARGC
	BASH_ARGV BASH_ARGV0 BASH_CMDS BASH_COMMAND BASH_COMPAT BASH_ENV
	BASH_EXECUTION_STRING BASH_LINENO BASH_LOADABLES_PATH BASH_REMATCH
	BASH_SOURCE BASH_SUBSHELL BASH_VERSINFO BASH_VERSION BASH_XTRACEFD CDPATH
	CHILD_MAX COLUMNS COMP_CWORD COMP_KEY COMP_LINE COMP_POINT COMP_TYPE
	COMP_WORDBREAKS COMP_WORDS COMPREPLY COPROC DIRSTACK EMACS ENV
	EPOCHREALTIME EPOCHSECONDS EUID EXECIGNORE FCEDIT FIGNORE FUNCNAME
	FUNCNEST GLOBIGNORE GLOBSORT GROUPS histchars HISTCMD HISTCONTROL HISTFILE
	HISTFILESIZE HISTIGNORE HISTSIZE HISTTIMEFORMAT HOME HOSTFILE HOSTNAME
	HOSTTYPE IFS IGNOREEOF INPUTRC INSIDE_EMACS LANG LC_ALL LC_COLLATE
	LC_CTYPE LC_MESSAGES LC_NUMERIC LC_TIME LINENO LINES MACHTYPE MAIL
	MAILCHECK MAILPATH MAPFILE OLDPWD OPTARG OPTERR OPTIND OSTYPE PATH
	PIPESTATUS POSIXLY_CORRECT PPID PROMPT_COMMAND PROMPT_DIRTRIM PS0 PS1
	PS2 PS3 PS4 PWD RANDOM READLINE_ARGUMENT READLINE_LINE READLINE_MARK
	READLINE_POINT REPLY SECONDS SHELL SHELLOPTS SHLVL SRANDOM TIMEFORMAT
	TMOUT TMPDIR UID _ SSH_CLIENT SSH2_CLIENT`)

// TestDirectLeavesToBashWhatItChanges asks bash, for every variable it
// names, whether a program it executes sees the environment it was
// given: where bash changes it (drops, resets or rewrites the variable,
// or reads ~/.bashrc), Direct must leave the command to bash.
func TestDirectLeavesToBashWhatItChanges(t *testing.T) {
	bash := testenv.NeedBinary(t, "bash")
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".bashrc"), []byte("echo BASHRC-READ\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	envOf := func(extra ...string) []string {
		c := exec.Command(bash, "-c", "env")
		c.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + home}, extra...)
		c.Dir = home
		out, err := c.Output()
		if err != nil {
			t.Fatalf("bash with %q: %v", extra, err)
		}
		l := strings.Split(strings.TrimSpace(string(out)), "\n")
		slices.Sort(l)
		return l
	}
	base := envOf()
	changed := 0
	for _, name := range bashVariables {
		for _, v := range []string{"7", "zz9"} {
			kv := name + "=" + v
			want := slices.Sorted(slices.Values(append(slices.Clone(base), kv)))
			if name == "HOME" || name == "PATH" {
				continue // the test's own; the runners set both
			}
			if got := envOf(kv); slices.Equal(got, want) {
				continue
			}
			changed++
			if shellQuietEnv([]string{kv}) {
				t.Errorf("bash changes what a program sees when %s is set, and Direct takes the command", kv)
			}
		}
	}
	if changed < 20 {
		t.Errorf("bash changed only %d of the variables: the probe is broken", changed)
	}
}
