package policy

import (
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Commands that run another command once per name they find or read:
// find -exec/-execdir/-ok/-okdir and xargs. The command is judged with
// the names it will be given: the starting points of find, or what the
// stage before xargs prints when the checker can know it (find's
// starting points, echo's words). So find /etc -exec chmod 644 {} \;
// writes under /etc, and a shell template that pastes the names into
// its text is refused with the rewrite that passes them as arguments.

// findExec checks the commands of -exec, -execdir, -ok and -okdir.
func (c *checker) findExec(args []word) *Refusal {
	starts, mindepth := findStarts(args)
	for i := 0; i < len(args); i++ {
		action := args[i].text
		switch action {
		case "-exec", "-execdir", "-ok", "-okdir":
		default:
			continue
		}
		j := i + 1
		for j < len(args) && args[j].text != ";" && args[j].text != "+" {
			j++
		}
		cmd := args[i+1 : j]
		i = j
		if r := c.shellTemplate("find "+action, cmd, "{}", starts); r != nil {
			return r
		}
		inDir := action == "-execdir" || action == "-okdir"
		for _, s := range starts {
			var r *Refusal
			if inDir {
				r = c.inDir(execDir(s, mindepth), func() *Refusal { return c.argv(fill(cmd, "{}", "./"+path.Base(s))) })
			} else {
				r = c.argv(fill(cmd, "{}", s))
			}
			if r != nil {
				return r
			}
		}
	}
	return nil
}

// findStarts returns find's starting points (. when none is given) and
// its -mindepth.
func findStarts(args []word) ([]string, int) {
	var starts []string
	mindepth := 0
	ops := findOperands(args)
	for i, op := range ops {
		if (op.kind == Read || op.kind == Delete) && len(starts) == i-countFlags(ops[:i]) {
			starts = append(starts, op.w.text)
		}
		if op.w.text == "-mindepth" && i+1 < len(ops) {
			if n := ops[i+1].w.text; n != "" && n != "0" {
				mindepth = 1
			}
		}
	}
	if len(starts) == 0 {
		starts = []string{"."}
	}
	return starts, mindepth
}

// countFlags counts find's leading -H/-L/-P/-D/-O words.
func countFlags(ops []operand) int {
	n := 0
	for _, op := range ops {
		if op.kind == Data {
			n++
		}
	}
	return n
}

// execDir is where -execdir runs its command for files under start: in
// start itself when only files below it match (-mindepth 1), else in
// the directory holding start.
func execDir(start string, mindepth int) string {
	if mindepth > 0 || path.Clean(start) == "." {
		return start
	}
	return path.Dir(path.Clean(start))
}

// inDir runs check with the shell's directory changed to dir, as seen
// from every directory it may be in.
func (c *checker) inDir(dir string, check func() *Refusal) *Refusal {
	saved := c.cwds
	defer func() { c.cwds = saved }()
	dir = c.inWork(dir)
	var next []string
	for _, d := range saved {
		switch {
		case strings.HasPrefix(dir, "/"):
			next = addCwd(next, path.Clean(dir))
		case d == cwdUnknown:
			next = addCwd(next, cwdUnknown)
		default:
			next = addCwd(next, path.Join(d, dir))
		}
	}
	c.cwds = next
	return check()
}

// fill replaces repl in the words of cmd with name; the words become
// placeholders, known only when the command runs.
func fill(cmd []word, repl, name string) []word {
	out := make([]word, len(cmd))
	for i, w := range cmd {
		if strings.Contains(w.text, repl) {
			w.text = strings.ReplaceAll(w.text, repl, name)
			w.static, w.placeholder = false, true
		}
		out[i] = w
	}
	return out
}

// shellTemplate judges a shell run with -c TEXT where TEXT holds the
// names' placeholder: the text is checked with each name in place, and
// then refused under dynamic-command, since a name holding $(…) or ;
// would run as code; the refusal says how to pass names as arguments.
func (c *checker) shellTemplate(by string, cmd []word, repl string, names []string) *Refusal {
	if len(cmd) < 2 || !cmd[0].static || !shells[path.Base(cmd[0].text)] {
		return nil
	}
	for i := 1; i+1 < len(cmd); i++ {
		t := cmd[i].text
		if !strings.HasPrefix(t, "-") || strings.HasPrefix(t, "--") || !strings.Contains(t, "c") {
			continue
		}
		script := cmd[i+1]
		if !strings.Contains(script.text, repl) || strings.HasPrefix(strings.TrimSpace(script.text), repl) {
			return nil // no names in it, or a name is the command: judged as before
		}
		if !script.static && !script.placeholder {
			return nil // judged as any computed script is
		}
		if len(names) == 0 {
			names = []string{"file"}
		}
		for _, n := range names {
			if r := c.script(strings.ReplaceAll(script.text, repl, n), c.depth+1); r != nil {
				return r
			}
		}
		if c.p.Has(RuleDynamic) {
			sh := cmd[0].text
			return refuse(RuleDynamic, "%s pastes each name into the text of %s -c, so a file name holding $(…) or ; would run as a command; pass the names as arguments instead: %s -c '… \"$1\" …' _ %s", by, sh, sh, repl)
		}
		return c.argv(fill(cmd[:i+1], repl, "file"))
	}
	return nil
}

// templateScript reports a shell -c whose literal script text holds the
// placeholder repl.
func templateScript(cmd []word, repl string) bool {
	if len(cmd) < 3 || !shells[path.Base(cmd[0].text)] {
		return false
	}
	for i := 1; i+1 < len(cmd); i++ {
		if t := cmd[i].text; strings.HasPrefix(t, "-") && !strings.HasPrefix(t, "--") && strings.Contains(t, "c") {
			s := cmd[i+1].text
			return strings.Contains(s, repl) && !strings.HasPrefix(strings.TrimSpace(s), repl)
		}
	}
	return false
}

// xargsRepl returns the replacement string of xargs -I/-i/--replace,
// or "" when xargs appends the names it reads.
func xargsRepl(args []word) string {
	repl := ""
	for j := 0; j < len(args); j++ {
		switch t := args[j].text; {
		case (t == "-I") && j+1 < len(args):
			repl = args[j+1].text
			j++
		case strings.HasPrefix(t, "-I") && len(t) > 2:
			repl = t[2:]
		case strings.HasPrefix(t, "--replace="):
			repl = strings.TrimPrefix(t, "--replace=")
		case t == "-i" || t == "--replace":
			repl = "{}"
		case !strings.HasPrefix(t, "-"):
			return repl
		default:
			if optionArgs["xargs"][t] {
				j++
			}
		}
	}
	return repl
}

// xargs checks the command xargs runs with the names it will read;
// inner has the placeholder words of -I marked (unwrap).
func (c *checker) xargs(args []word, inner []word) *Refusal {
	repl := xargsRepl(args)
	names := c.pipeInput[c.curCall]
	if repl != "" {
		if r := c.shellTemplate("xargs -I"+repl, inner, repl, names); r != nil {
			return r
		}
	}
	if len(names) == 0 {
		return c.argv(inner)
	}
	for _, n := range names {
		cmd := inner
		if repl != "" {
			cmd = fill(inner, repl, n)
		} else {
			cmd = append(append([]word(nil), inner...), word{text: n, placeholder: true})
		}
		if r := c.argv(cmd); r != nil {
			return r
		}
	}
	return nil
}

// notePipeInputs remembers, for each xargs stage of a pipeline, the
// names the stage before it prints when the checker can know them.
func (c *checker) notePipeInputs(stages []*syntax.Stmt) {
	for i := 1; i < len(stages); i++ {
		call, ok := stages[i].Cmd.(*syntax.CallExpr)
		if !ok || len(call.Args) == 0 || path.Base(call.Args[0].Lit()) != "xargs" {
			continue
		}
		prev, ok := stages[i-1].Cmd.(*syntax.CallExpr)
		if !ok || len(prev.Args) == 0 {
			continue
		}
		ws := c.evalWords(prev.Args)
		if !ws[0].static {
			continue
		}
		var names []string
		switch path.Base(ws[0].text) {
		case "find":
			names, _ = findStarts(ws[1:])
		case "echo", "printf":
			from := 1
			if path.Base(ws[0].text) == "printf" {
				from = 2
			}
			for j := from; j < len(ws); j++ {
				if t := ws[j].text; !strings.HasPrefix(t, "-") && t != "" {
					names = append(names, strings.Fields(t)...)
				}
			}
		}
		if len(names) > maxCwds {
			names = names[:maxCwds]
		}
		if len(names) > 0 {
			if c.pipeInput == nil {
				c.pipeInput = map[*syntax.CallExpr][]string{}
			}
			c.pipeInput[call] = names
		}
	}
}
