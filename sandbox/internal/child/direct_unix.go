//go:build unix

package child

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// A command bash would only execute (policy.Direct) is executed without
// it: the same program, arguments and environment bash would hand it,
// without the shell's start. Where the program cannot be found or
// executed, bash runs the command after all, so what the command's
// author reads (`command not found`, a script without a #! line run as a
// shell script) is the shell's own.

// ShellArgv is how shell runs command: `bash --norc -c -- COMMAND`.
// "--" ends the shell's options (a command starting with "-" is a
// command); --norc keeps Debian's bash, built to read ~/.bashrc when
// SSH_CLIENT or SSH2_CLIENT is set as if started by sshd, from running a
// file the command's own work dir holds.
func ShellArgv(shell, command string) []string {
	name := shellBase(shell)
	if name == "bash" {
		return []string{name, "--norc", "-c", "--", command}
	}
	return []string{name, "-c", "--", command}
}

// shellBase is the name a shell is started under.
func shellBase(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}

// Direct is the program bash would execute for argv, run from cwd with
// env, and the environment bash would give it; ok is false where bash
// must run the command (DirectProgram).
func Direct(argv, env []string, cwd string) (prog string, progEnv []string, ok bool) {
	prog, ok = DirectProgram(argv[0], Getenv(env, "PATH"))
	if !ok {
		return "", nil, false
	}
	return prog, directEnv(env, cwd, prog), true
}

// DirectProgram is the file bash would execute for a command named name,
// spelled as bash spells it: name itself when it holds a slash, else the
// first executable file of that name, not a directory, in the
// directories of pathList (PATH's value). It reports false where bash's
// search would end elsewhere — nothing executable found, or a relative
// directory in PATH, which depends on the directory it is searched from.
func DirectProgram(name, pathList string) (string, bool) {
	if strings.Contains(name, "/") {
		return name, true
	}
	for dir := range strings.SplitSeq(pathList, ":") {
		if !strings.HasPrefix(dir, "/") {
			return "", false
		}
		p := dir + "/" + name
		if strings.HasSuffix(dir, "/") {
			p = dir + name
		}
		// As bash: the first executable that is not a directory (a
		// special file too, which exec then refuses, and bash says so).
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() {
			continue
		}
		if unix.Access(p, unix.X_OK) == nil {
			return p, true
		}
	}
	return "", false
}

// directEnv is env as bash hands it to a program it executes in its own
// place: with PWD, the working directory it found; SHLVL 0 (bash counts
// itself a level and uncounts itself to execute); and _, the program's
// path. policy.Direct takes no command whose env already sets them.
func directEnv(env []string, cwd, program string) []string {
	out := make([]string, 0, len(env)+3)
	out = append(out, env...)
	return append(out, "PWD="+cwd, "SHLVL=0", "_="+program)
}

// Getenv is the value of key in env, as the program will see it.
func Getenv(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
