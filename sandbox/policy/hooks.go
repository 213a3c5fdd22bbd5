package policy

import (
	"path"
	"regexp"
	"strings"
)

// Programs that run commands given in their options or in the text they
// process. Where the command is written in the command line it is
// checked as a script, as sh -c is; where it is decided at run time the
// check refuses (dynamic-command).

// toolHooks checks the commands a tool is told to run.
func (c *checker) toolHooks(base string, args []word) *Refusal {
	switch base {
	case "sed", "gsed":
		return c.sedHooks(args)
	case "tar", "gtar", "bsdtar":
		return c.tarHooks(base, args)
	case "zip":
		return c.optionScripts(base, args, "-TT", "--unzip-command")
	case "rsync":
		return c.optionScripts(base, args, "-e", "--rsh", "--rsync-path")
	case "split":
		return c.optionScripts(base, args, "--filter")
	case "sort":
		return c.optionScripts(base, args, "--compress-program")
	case "make", "gmake":
		for _, a := range args {
			if (a.text == "-E" || strings.HasPrefix(a.text, "--eval") || strings.HasPrefix(a.text, "-E")) && c.p.Has(RuleDynamic) {
				return refuse(RuleDynamic, "make --eval adds makefile text whose recipes run shell commands the check does not read; put the rules in a Makefile and run make")
			}
		}
	case "start-stop-daemon":
		return c.startStopDaemon(args)
	case "git":
		return c.gitHooks(args)
	case "sqlite3":
		return c.sqliteHooks(args)
	case "vim", "vi", "nvim", "ex", "view", "vimdiff", "rvim":
		if r := c.edHooks(base, args); r != nil {
			return r
		}
		return c.vimHooks(base, args)
	case "ed":
		return c.edHooks(base, args)
	case "man":
		// The pager and the HTML browser man starts.
		return c.optionScripts(base, args, "-P", "--pager", "-H", "--html")
	case "less", "more":
		return nil
	}
	if isAwk(base) {
		for _, a := range scriptOperands(base, args) {
			if awkRunsCommand(a.text) && c.p.Has(RuleDynamic) {
				return refuse(RuleDynamic, "awk system() and command pipes run shell text that cannot be checked; run the commands directly")
			}
		}
	}
	return nil
}

// scriptOperands are the operands the operand table says are program
// text; all of them for a command it does not know.
func scriptOperands(base string, args []word) []word {
	spec := specFor(base)
	if spec == nil {
		return args
	}
	var out []word
	for _, op := range spec.operands(args) {
		if op.kind == Script {
			out = append(out, op.w)
		}
	}
	return out
}

func isAwk(base string) bool {
	return base == "awk" || base == "gawk" || base == "mawk" || base == "nawk" || base == "busybox-awk"
}

// awkSystem is a call of awk's system(), spaces before the parenthesis
// included.
var awkSystem = regexp.MustCompile(`\bsystem\s*\(`)

// awkRunsCommand reports an awk program that runs shell text: system(),
// or a pipe to or from a command. In awk a lone | outside strings and
// regular expressions is always one (print | cmd, print | "cmd",
// cmd | getline, |&), whether the command is written as a string or
// held in a variable.
func awkRunsCommand(prog string) bool {
	if awkSystem.MatchString(prog) {
		return true
	}
	inString := false
	prev := byte(0) // the last character outside blanks
	for i := 0; i < len(prog); i++ {
		ch := prog[i]
		switch {
		case ch == '\\':
			i++
			continue
		case ch == '"':
			inString = !inString
		case inString:
		case ch == '/' && (prev == 0 || strings.IndexByte("(,~!{};&|:?=\n", prev) >= 0):
			// A regular expression: its | is an alternation.
			for i++; i < len(prog) && prog[i] != '/'; i++ {
				if prog[i] == '\\' {
					i++
				}
			}
		case ch == '|' && i+1 < len(prog) && prog[i+1] == '|':
			i++ // ||, a logical or
		case ch == '|':
			return true
		}
		if ch != ' ' && ch != '\t' {
			prev = ch
		}
	}
	return false
}

// hookScript checks the shell text a tool will run.
func (c *checker) hookScript(by string, w word, text string) *Refusal {
	if !w.static {
		if c.p.Has(RuleDynamic) {
			return refuse(RuleDynamic, "%s runs a command computed at run time, which cannot be checked; write it literally", by)
		}
		return nil
	}
	text = strings.ReplaceAll(text, "{}", "file")
	text = strings.ReplaceAll(text, "%s", "file")
	if strings.TrimSpace(text) == "" {
		return nil
	}
	return c.script(text, c.depth+1)
}

// optionScripts checks the values of options that name a command, given
// as --opt=CMD, --opt CMD or, for options with an = inside, the prefix.
func (c *checker) optionScripts(base string, args []word, opts ...string) *Refusal {
	for i, a := range args {
		for _, o := range opts {
			var val string
			var ok bool
			if len(o) == 2 && o[0] == '-' && o != "--" && len(a.text) > 2 && strings.HasPrefix(a.text, o) && a.text[1] != '-' {
				// A short option's value glued to it (-P'cmd').
				if r := c.hookScript(base+" "+o, a, a.text[2:]); r != nil {
					return r
				}
				continue
			}
			if long, _, _ := strings.Cut(a.text, "="); strings.HasPrefix(o, "--") && len(long) > 3 && len(long) < len(o) && strings.HasPrefix(o, long) {
				// getopt takes an unambiguous prefix of a long option
				// (sort --compress=prog).
				a.text = o + strings.TrimPrefix(a.text, long)
			}
			switch {
			case strings.HasSuffix(o, "="):
				val, ok = strings.CutPrefix(a.text, o)
			case a.text == o && i+1 < len(args):
				if r := c.hookScript(base+" "+o, args[i+1], args[i+1].text); r != nil {
					return r
				}
				continue
			default:
				val, ok = strings.CutPrefix(a.text, o+"=")
			}
			if ok {
				if r := c.hookScript(base+" "+o, a, val); r != nil {
					return r
				}
			}
		}
	}
	return nil
}

// sedHooks refuses the GNU sed e command and the e flag of s, which run
// the pattern space (the data) as a shell command.
func (c *checker) sedHooks(args []word) *Refusal {
	var scripts []word
	explicit := false
	for i := 0; i < len(args); i++ {
		t := args[i].text
		switch {
		case (t == "-e" || t == "--expression") && i+1 < len(args):
			scripts, explicit = append(scripts, args[i+1]), true
			i++
		case strings.HasPrefix(t, "--expression="):
			w := args[i]
			w.text = strings.TrimPrefix(t, "--expression=")
			scripts, explicit = append(scripts, w), true
		case t == "-f" || t == "--file" || t == "-l" || t == "--line-length":
			explicit = explicit || t == "-f" || t == "--file"
			i++
		case strings.HasPrefix(t, "-"):
		default:
			if !explicit {
				scripts, explicit = append(scripts, args[i]), true
			}
		}
	}
	for _, s := range scripts {
		if sedRuns(s.text) && c.p.Has(RuleDynamic) {
			return refuse(RuleDynamic, "sed's e command and s///e flag run the text being edited as shell commands, which cannot be checked; run the commands directly")
		}
	}
	return nil
}

// sedRuns scans a sed script for the e command or an s command with the
// e flag.
func sedRuns(script string) bool {
	for _, cmd := range strings.FieldsFunc(script, func(r rune) bool { return r == ';' || r == '\n' || r == '{' || r == '}' }) {
		cmd = sedCommand(cmd)
		if cmd == "" {
			continue
		}
		switch cmd[0] {
		case 'e':
			return true
		case 's':
			if len(cmd) < 2 {
				continue
			}
			d := cmd[1]
			n, j := 0, 2
			for ; j < len(cmd) && n < 2; j++ {
				if cmd[j] == '\\' {
					j++
					continue
				}
				if n == 0 && cmd[j] == '[' {
					// A bracket expression: the delimiter inside it
					// ([/]) does not end the regex.
					j = bracketEnd(cmd, j)
					continue
				}
				if cmd[j] == d {
					n++
				}
			}
			if n == 2 {
				flags := cmd[j:]
				if k := strings.IndexAny(flags, "w "); k >= 0 {
					flags = flags[:k]
				}
				if strings.Contains(flags, "e") {
					return true
				}
			}
		}
	}
	return false
}

// bracketEnd returns the index of the ] that closes the bracket
// expression opening at s[i] ([]x], [^]x] and [[:alpha:]] included), or
// i when it is not closed (then [ is an ordinary character).
func bracketEnd(s string, i int) int {
	j := i + 1
	if j < len(s) && s[j] == '^' {
		j++
	}
	if j < len(s) && s[j] == ']' {
		j++
	}
	for ; j < len(s); j++ {
		switch {
		case s[j] == '[' && j+1 < len(s) && (s[j+1] == ':' || s[j+1] == '.' || s[j+1] == '='):
			if k := strings.Index(s[j+2:], string(s[j+1])+"]"); k >= 0 {
				j += k + 3
			}
		case s[j] == ']':
			return j
		}
	}
	return i
}

// gitCommandKeys are configuration keys whose value git runs.
var gitCommandKeys = set("core.fsmonitor", "core.sshcommand", "core.pager", "core.editor",
	"core.askpass", "core.gitproxy", "diff.external", "sequence.editor", "gpg.program",
	"gpg.ssh.program", "uploadpack.packobjectshook", "credential.helper", "merge.tool")

// gitHooks checks git -c KEY=VALUE and git config KEY VALUE for values
// git will run.
func (c *checker) gitHooks(args []word) *Refusal {
	for i := 0; i < len(args); i++ {
		t := args[i].text
		var kv word
		switch {
		case t == "-c" && i+1 < len(args):
			kv = args[i+1]
			i++
		case strings.HasPrefix(t, "--config-env"):
			if c.p.Has(RuleDynamic) {
				return refuse(RuleDynamic, "git --config-env takes configuration from the environment, which cannot be checked; pass -c KEY=VALUE")
			}
			continue
		case t == "config" && i+2 < len(args):
			rest := args[i+1:]
			for len(rest) > 0 && strings.HasPrefix(rest[0].text, "-") {
				rest = rest[1:]
			}
			if len(rest) >= 2 {
				kv = rest[1]
				kv.text = rest[0].text + "=" + rest[1].text
			}
			i = len(args)
		case gitValueOptions[t]:
			i++ // git -C dir: the value is no subcommand
			continue
		case !strings.HasPrefix(t, "-"):
			// The subcommand: options after it are its own.
			return c.gitSubHooks(args[i:])
		default:
			continue
		}
		key, val, _ := strings.Cut(kv.text, "=")
		key = strings.ToLower(key)
		switch {
		case strings.HasPrefix(key, "alias.") && strings.HasPrefix(val, "!"):
			if r := c.hookScript("git alias "+key, kv, val[1:]); r != nil {
				return r
			}
		case key == "core.hookspath" || strings.HasPrefix(key, "include") && strings.HasSuffix(key, "path"):
			if c.p.Has(RuleDynamic) {
				return refuse(RuleDynamic, "git %s makes git run hooks or read configuration from files the check cannot see; leave it unset", key)
			}
		case gitCommandKeys[key] || strings.HasPrefix(key, "filter.") || strings.HasPrefix(key, "diff.") && strings.HasSuffix(key, ".textconv") || strings.HasPrefix(key, "pager."):
			if r := c.hookScript("git "+key, kv, strings.TrimPrefix(val, "!")); r != nil {
				return r
			}
		}
	}
	return nil
}

// sqliteHooks checks the .shell and .system dot-commands of sqlite3.
func (c *checker) sqliteHooks(args []word) *Refusal {
	for _, a := range args {
		for _, line := range strings.Split(a.text, "\n") {
			line = strings.TrimSpace(line)
			for _, dot := range []string{".shell", ".system"} {
				if rest, ok := strings.CutPrefix(line, dot); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
					if r := c.hookScript("sqlite3 "+dot, a, rest); r != nil {
						return r
					}
				}
			}
		}
	}
	return nil
}

// vimHooks checks ex commands given with -c, --cmd or +: !cmd runs a
// shell command, and system() calls cannot be checked.
func (c *checker) vimHooks(base string, args []word) *Refusal {
	for i, a := range args {
		var cmd string
		switch {
		case (a.text == "-c" || a.text == "--cmd") && i+1 < len(args):
			cmd = args[i+1].text
			a = args[i+1]
		case strings.HasPrefix(a.text, "+") && len(a.text) > 1:
			cmd = a.text[1:]
		default:
			continue
		}
		cmd = strings.TrimLeft(cmd, ": ")
		for _, p := range []string{"silent!", "silent", "exe", "execute"} {
			cmd = strings.TrimLeft(strings.TrimPrefix(cmd, p), " ")
		}
		switch {
		case strings.HasPrefix(cmd, "!"):
			if r := c.hookScript(base+" -c !", a, cmd[1:]); r != nil {
				return r
			}
		case vimRuns(cmd):
			if c.p.Has(RuleDynamic) {
				return refuse(RuleDynamic, "%s -c %q can run commands vim computes, which cannot be checked; run the commands directly", base, cmd)
			}
		}
	}
	return nil
}

// loaders are the dynamic linker: it runs the program it is given.
func loader(base string) bool {
	return strings.HasPrefix(base, "ld-linux") || base == "ld.so" || strings.HasPrefix(base, "ld-musl") || base == "ld64.so.2" || base == "ld64.so.1"
}

// loaderArgs returns the program and arguments the dynamic linker runs.
func loaderArgs(args []word) []word {
	for i := 0; i < len(args); i++ {
		switch t := args[i].text; {
		case t == "--library-path" || t == "--preload" || t == "--audit" || t == "--argv0" || t == "--glibc-hwcaps-mask" || t == "--glibc-hwcaps-prepend":
			i++
		case strings.HasPrefix(t, "--"):
		default:
			return args[i:]
		}
	}
	return nil
}

// copiedProgram returns the program a file in the work dir is a copy or
// link of, when this command made it (cp /bin/dash ./safe).
func (c *checker) copiedProgram(name string) (string, bool) {
	for _, k := range c.fileKeys(name) {
		if p, ok := c.copies[k]; ok {
			return p, true
		}
	}
	return "", false
}

// recordCopy remembers cp, ln, install and mv of a program to a new
// name; an unknown source is remembered as unknown ("").
func (c *checker) recordCopy(base string, args []word) {
	switch base {
	case "cp", "ln", "install", "mv", "link", "rsync":
	default:
		return
	}
	var ops []word
	for i := 0; i < len(args); i++ {
		t := args[i].text
		if strings.HasPrefix(t, "-") && len(t) > 1 {
			if (base == "install" && (t == "-m" || t == "-o" || t == "-g" || t == "-t")) || t == "-t" || t == "--target-directory" || t == "-S" || t == "--suffix" {
				i++
			}
			continue
		}
		ops = append(ops, args[i])
	}
	if len(ops) < 2 {
		return
	}
	dst := ops[len(ops)-1]
	if c.copies == nil {
		c.copies = map[string]string{}
	}
	for _, src := range ops[:len(ops)-1] {
		if src.static && dst.static && base != "ln" && base != "link" {
			c.copyWritten(src.text, dst.text)
		}
		prog := ""
		if src.static && !src.glob { // a glob names a program only when it runs
			prog = path.Base(path.Clean(src.text))
			if cp, ok := c.copiedProgram(src.text); ok {
				prog = cp
			}
		}
		for _, k := range c.fileKeys(dst.text) {
			c.copies[k] = prog
			// cp /bin/dash dir/ makes dir/dash.
			c.copies[path.Join(k, path.Base(src.text))] = prog
		}
	}
}

// vimRuns recognises ex commands that run programs or code: :r !cmd,
// :w !cmd, system(), :terminal, and the script language commands.
func vimRuns(cmd string) bool {
	if strings.Contains(cmd, "system(") || strings.Contains(cmd, " !") || strings.Contains(cmd, "|!") {
		return true
	}
	for _, p := range []string{"r!", "w!", "read!", "write!", "ter", "py", "lua", "perl", "ruby", "mz", "tcl", "call ", "so", "source"} {
		if strings.HasPrefix(cmd, p) {
			return true
		}
	}
	return false
}
