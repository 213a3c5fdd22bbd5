//go:build linux

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDirectRunsAsBashWould runs commands bash would only execute, which
// the runners execute without it, beside the same commands handed to
// bash by the command itself (`bash -c '…'`, which bash executes in its
// own place too), in the same work dir, on each backend: the program's
// output — its environment, arguments, directory and ids — must not tell
// them apart. And where the program cannot be executed, bash runs the
// command after all, so its messages and exit codes are the shell's; and
// bash never reads a startup file the work dir holds.
func TestDirectRunsAsBashWould(t *testing.T) {
	host, err := NewHost(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []Runner{host, newTestRunner(t, Limits{})} {
		t.Run(r.Name(), func(t *testing.T) {
			dir, err := os.MkdirTemp("", "amf-direct-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			os.Chmod(dir, 0o777)
			runIn := func(cmd string, env ...string) (Result, string) {
				t.Helper()
				var c collector
				res, err := r.Run(context.Background(), Spec{Command: cmd, WorkDir: dir, Env: env, Timeout: 20 * time.Second}, c.out)
				if err != nil {
					t.Fatalf("%q: %v", cmd, err)
				}
				return res, c.text()
			}
			for _, cmd := range []string{"env", "id", "ls -a", `/usr/bin/printf '%s|' one "two words" 'three'`, "/usr/bin/env", "stat -c %n:%U ."} {
				if _, ok := directArgvOK(cmd); !ok {
					t.Fatalf("%q is not taken without the shell", cmd)
				}
				got, gotOut := runIn(cmd, "GREETING=hello")
				want, wantOut := runIn("bash -c '"+strings.ReplaceAll(cmd, "'", `'\''`)+"'", "GREETING=hello")
				if cmd == "env" || cmd == "/usr/bin/env" {
					gotOut, wantOut = sortedLines(gotOut), sortedLines(wantOut)
				}
				if gotOut != wantOut || got.ExitCode != want.ExitCode {
					t.Errorf("%q without the shell: exit %d\n%s\nby bash: exit %d\n%s", cmd, got.ExitCode, gotOut, want.ExitCode, wantOut)
				}
			}

			// Not found: bash's message and code.
			res, out := runIn("no-such-program-here -x")
			if res.ExitCode != 127 || !strings.Contains(out, "no-such-program-here: command not found") {
				t.Errorf("missing program: exit %d, %q", res.ExitCode, out)
			}
			// Files made by commands: a root runner gives its commands a
			// work dir file system of their own.
			runIn(`printf 'echo ran by $0 as a script\n' > plain; printf '#!/bin/sh\necho ran\n' > noexec; printf 'echo startup file read >&2\n' > startup; printf 'echo BASHRC-READ\n' > .bashrc; chmod 755 plain; chmod 644 noexec`)
			// Debian's bash reads ~/.bashrc (here the work dir's) when
			// started as if by sshd; the runners' bash never does.
			for _, kv := range []string{"SSH_CLIENT=1 2 3", "SSH2_CLIENT=1 2 3"} {
				for _, cmd := range []string{"echo hi", "id -u", "no-such-program-here"} {
					if _, out := runIn(cmd, kv); strings.Contains(out, "BASHRC-READ") {
						t.Errorf("%q with %s ran the work dir's .bashrc: %q", cmd, kv, out)
					}
				}
			}
			// A file without #! is a shell script to bash.
			res, out = runIn("./plain")
			if res.ExitCode != 0 || !strings.Contains(out, "ran by ./plain as a script") {
				t.Errorf("script without #!: exit %d, %q", res.ExitCode, out)
			}
			// Not executable: bash's refusal.
			res, out = runIn("./noexec")
			if res.ExitCode != 126 || !strings.Contains(out, "Permission denied") {
				t.Errorf("not executable: exit %d, %q", res.ExitCode, out)
			}
			// A variable bash reads at its start is honoured.
			startup := filepath.Join(dir, "startup")
			if r.Name() != "host" {
				startup = "/work/startup"
			}
			_, out = runIn("id -u", "BASH_ENV="+startup)
			if !strings.Contains(out, "startup file read") {
				t.Errorf("BASH_ENV not read: %q", out)
			}
		})
	}
}

// TestHostExecutesWithoutTheShell asserts the host backend's choice: the
// program itself for a command bash would only execute, bash otherwise.
func TestHostExecutesWithoutTheShell(t *testing.T) {
	dir := t.TempDir()
	env := hostEnv(dir, nil)
	for cmd, direct := range map[string]bool{
		"uname -s": true, "/usr/bin/uname -s": true, "uname -s | cat": false,
		"echo hi": false, "uname $X": false, "no-such-program-here": false,
	} {
		null, _ := os.Open(os.DevNull)
		c, err := startHostCommand(cmd, env, dir, null, null)
		null.Close()
		if err != nil {
			t.Fatalf("%q: %v", cmd, err)
		}
		c.Wait()
		if got := filepath.Base(c.Path) != "bash"; got != direct {
			t.Errorf("%q ran by %s: want without the shell %v", cmd, c.Path, direct)
		}
	}
}

func directArgvOK(cmd string) ([]string, bool) {
	argv := directArgv(shellPath(), cmd, sandboxEnv(nil))
	return argv, argv != nil
}

func sortedLines(s string) string {
	l := strings.Split(s, "\n")
	slices.Sort(l)
	return strings.Join(l, "\n")
}
