package policy

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Direct returns the words of command when all bash would do with it is
// search PATH for its first word and execute that program with the words
// as its arguments — which `bash -c` does in its own place, without a
// fork, for a lone simple command. Such a command runs the same program,
// with the same arguments, in the same process, when executed directly;
// only the shell's start is saved (most of a short command's cost). It is
// one simple command whose every word is literal (quoted or not) and
// expands to itself: no parameter, command or arithmetic expansion, glob,
// brace or tilde, no redirection, assignment, pipeline, list or keyword,
// and its first word names no builtin, which the shell would run itself;
// on one line, without control characters the parser and bash read
// differently. env is the command's environment: a variable bash reads
// or sets as it starts (BASH_ENV, SHELLOPTS, an exported function,
// RANDOM, OPTIND…) changes what it runs or what the program sees, so a
// command given one needs the shell.
func Direct(command string, env []string) ([]string, bool) {
	// One line: a comment ending in a backslash joins the next line to
	// it for the parser, not for bash.
	if len(command) > maxCommandBytes || !shellQuietEnv(env) || hasControl(command) ||
		strings.Contains(strings.TrimRight(command, " \t\n"), "\n") {
		return nil, false
	}
	p := parsers.Get().(*syntax.Parser)
	defer parsers.Put(p)
	f, err := p.Parse(strings.NewReader(command), "")
	if err != nil || len(f.Stmts) != 1 {
		return nil, false
	}
	st := f.Stmts[0]
	if st.Negated || st.Background || st.Coprocess || len(st.Redirs) > 0 {
		return nil, false
	}
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Assigns) > 0 || len(call.Args) == 0 {
		return nil, false
	}
	argv := make([]string, 0, len(call.Args))
	for _, w := range call.Args {
		s, ok := literalWord(w)
		if !ok {
			return nil, false
		}
		argv = append(argv, s)
	}
	// A name starting with "%" is a job to resume (`%1` is `fg %1`).
	if argv[0] == "" || argv[0][0] == '%' || shellOwn[argv[0]] {
		return nil, false
	}
	return argv, true
}

// hasControl reports a control character other than tab and newline,
// which the parser and bash may read differently (a carriage return is a
// blank to the parser and part of a word to bash).
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f {
			return true
		}
	}
	return false
}

// literalWord is the one argument w expands to when it expands to
// itself: literal text, single quotes, and double quotes holding nothing
// but text the quotes leave as written.
func literalWord(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, part := range w.Parts {
		switch p := part.(type) {
		case *syntax.Lit:
			// Unquoted: globs, braces, tildes (at the start, or after
			// "=" or ":" in bash), escapes and anything the parser
			// left as text around them need the shell.
			if strings.ContainsAny(p.Value, "*?[]{}~\\$`()!") {
				return "", false
			}
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			if p.Dollar { // $'…' decodes escapes
				return "", false
			}
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			if p.Dollar { // $"…" is translated
				return "", false
			}
			for _, q := range p.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok || strings.ContainsAny(l.Value, "\\$`!") {
					return "", false
				}
				b.WriteString(l.Value)
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

// shellQuietEnv reports whether env leaves bash's start alone: no startup
// file, option, exported function, search filter, or shell level to carry
// on, and no name set twice (which value bash would take is its own
// business).
func shellQuietEnv(env []string) bool {
	seen := make(map[string]bool, len(env))
	for _, kv := range env {
		k, _, ok := strings.Cut(kv, "=")
		// bash drops an entry without a name or "=".
		if !ok || k == "" || seen[k] || strings.HasPrefix(k, "BASH") || shellStartEnv[k] {
			return false
		}
		seen[k] = true
	}
	return true
}

// shellStartEnv are the variables, beside BASH*, that bash reads or sets
// as it starts (bash(1), "Shell Variables"; TestDirectLeavesToBashWhatItChanges
// asks bash which), or that make Debian's bash read ~/.bashrc.
var shellStartEnv = set("ENV", "SHELLOPTS", "EXECIGNORE", "POSIXLY_CORRECT",
	"SHLVL", "PWD", "OLDPWD", "_", "SSH_CLIENT", "SSH2_CLIENT", "IFS", "OPTIND",
	"OPTERR", "RANDOM", "SRANDOM", "SECONDS", "LINENO", "PPID", "HISTCMD",
	"EPOCHSECONDS", "EPOCHREALTIME", "COMP_WORDBREAKS", "FUNCNAME", "GROUPS",
	"DIRSTACK", "UID", "EUID", "HOSTTYPE", "OSTYPE", "MACHTYPE", "HOSTNAME",
	"MAILCHECK", "PS1", "PS2", "PS4")

// shellOwn are the words bash runs itself as a command's name: its
// builtins (`compgen -b`) and reserved words (`compgen -k`).
var shellOwn = set(".", ":", "[", "alias", "bg", "bind", "break", "builtin",
	"caller", "cd", "command", "compgen", "complete", "compopt", "continue",
	"declare", "dirs", "disown", "echo", "enable", "eval", "exec", "exit",
	"export", "false", "fc", "fg", "getopts", "hash", "help", "history",
	"jobs", "kill", "let", "local", "logout", "mapfile", "popd", "printf",
	"pushd", "pwd", "read", "readarray", "readonly", "return", "set", "shift",
	"shopt", "source", "suspend", "test", "times", "trap", "true", "type",
	"typeset", "ulimit", "umask", "unalias", "unset", "wait",
	"if", "then", "else", "elif", "fi", "case", "esac", "for", "select",
	"while", "until", "do", "done", "in", "function", "time", "{", "}", "!",
	"[[", "]]", "coproc")
