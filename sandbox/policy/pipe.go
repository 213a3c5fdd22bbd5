package policy

import (
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// pipeline refuses a pipe whose later stage is a shell or interpreter
// reading its program from the pipe: curl … | sh, base64 -d | bash.
func (c *checker) pipeline(b *syntax.BinaryCmd) *Refusal {
	if c.pipesSeen[b] {
		return nil
	}
	if c.pipesSeen == nil {
		c.pipesSeen = map[*syntax.BinaryCmd]bool{}
	}
	stages := flattenPipe(b, c.pipesSeen)
	c.notePipeInputs(stages)
	if !c.p.Has(RuleFetchRun) {
		return nil
	}
	literal := true // every stage so far writes only text typed in the command
	for i, st := range stages {
		if i > 0 {
			if text, ok := c.echoedScript(stages[i-1]); ok && i == 1 {
				if name, reads := c.readsProgramFromStdin(st); reads && shells[path.Base(name)] {
					// echo 'cmd' | sh runs the text typed in the command:
					// judge it as that command.
					if r := c.script(text, c.depth+1); r != nil {
						return r
					}
					literal = false
					continue
				}
			}
			if name, ok := c.readsProgramFromStdin(st); ok && !(literal && interpreters[path.Base(name)]) {
				return refuse(RuleFetchRun, "piping data into %s runs code nobody checked (the curl | sh pattern); write the commands themselves", name)
			}
		}
		literal = literal && c.literalOutput(st)
	}
	return nil
}

// echoedScript returns the text a plain echo of literal words prints
// (echo 'ls -l'), when that is all the stage does.
func (c *checker) echoedScript(st *syntax.Stmt) (string, bool) {
	if !c.literalOutput(st) {
		return "", false
	}
	call := st.Cmd.(*syntax.CallExpr)
	if call.Args[0].Lit() != "echo" {
		return "", false
	}
	ws := c.evalWords(call.Args[1:])
	var parts []string
	for _, w := range ws {
		if !w.static || w.glob || strings.HasPrefix(w.text, "-") || strings.Contains(w.text, `\`) {
			return "", false
		}
		parts = append(parts, w.text)
	}
	if len(parts) == 0 {
		return "", false
	}
	return strings.Join(parts, " "), true
}

// literalOutput reports a stage that prints only text written in the
// command itself (echo 'print(2+2)'), so an interpreter reading it runs
// code the command shows, as with python3 -c. Shells are still refused:
// their text can be written as the command itself.
func (c *checker) literalOutput(st *syntax.Stmt) bool {
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) == 0 || len(st.Redirs) > 0 {
		return false
	}
	switch call.Args[0].Lit() {
	case "echo", "printf":
	default:
		return false
	}
	for _, a := range call.Args[1:] {
		for _, p := range a.Parts {
			switch p := p.(type) {
			case *syntax.Lit, *syntax.SglQuoted:
			case *syntax.DblQuoted:
				for _, q := range p.Parts {
					if _, ok := q.(*syntax.Lit); !ok {
						return false
					}
				}
			default:
				return false
			}
		}
	}
	return true
}

// flattenPipe lists the stages of a pipeline and marks its nested pipe
// nodes as seen, so a long pipeline is judged once, not once per stage.
func flattenPipe(b *syntax.BinaryCmd, seen map[*syntax.BinaryCmd]bool) []*syntax.Stmt {
	var out []*syntax.Stmt
	var walk func(s *syntax.Stmt)
	walk = func(s *syntax.Stmt) {
		if bc, ok := s.Cmd.(*syntax.BinaryCmd); ok && (bc.Op == syntax.Pipe || bc.Op == syntax.PipeAll) {
			seen[bc] = true
			walk(bc.X)
			walk(bc.Y)
			return
		}
		out = append(out, s)
	}
	walk(b.X)
	walk(b.Y)
	return out
}

// readsProgramFromStdin looks through wrappers for a shell or interpreter
// that is given no program of its own.
func (c *checker) readsProgramFromStdin(st *syntax.Stmt) (string, bool) {
	return c.readsProgram(st, 0)
}

func (c *checker) readsProgram(st *syntax.Stmt, depth int) (string, bool) {
	// A subshell or group passes its input to the commands inside:
	// … | (bash), … | { bash; }.
	var inner []*syntax.Stmt
	switch cmd := st.Cmd.(type) {
	case *syntax.Subshell:
		inner = cmd.Stmts
	case *syntax.Block:
		inner = cmd.Stmts
	}
	if inner != nil {
		if depth >= maxDepth {
			return "a nested group", true
		}
		for _, s := range inner {
			if name, ok := c.readsProgram(s, depth+1); ok {
				return name, true
			}
		}
		return "", false
	}
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) == 0 {
		return "", false
	}
	ws := c.evalWords(call.Args)
	for range 8 {
		if len(ws) == 0 || !ws[0].static {
			return "", false
		}
		base := path.Base(ws[0].text)
		args := ws[1:]
		switch {
		case base == "source" || base == ".":
			if len(args) > 0 && args[0].text == "--" {
				args = args[1:]
			}
			return base, len(args) == 0 || args[0].text == "/dev/stdin" || args[0].text == "-"
		case shells[base]:
			return base, noProgram(args, true)
		case interpreters[base] || hasPrefixAny(base, "python", "perl", "ruby", "php", "node"):
			return base, noProgram(args, false)
		case base == "xargs" || base == "parallel":
			// xargs sh -c '…' runs a fixed script; xargs sh runs files
			// named on stdin, and xargs -I{} sh -c {} runs stdin itself.
			inner, _, ok := unwrap(base, args)
			if repl := xargsRepl(args); repl != "" && ok && templateScript(inner, repl) {
				return "", false // judged as a template (shellTemplate)
			}
			if ok && len(inner) > 0 && shells[path.Base(inner[0].text)] && (noProgram(inner[1:], true) || !scriptArgStatic(inner[1:])) {
				return base + " " + inner[0].text, true
			}
			return "", false
		case wrappers[base]:
			inner, _, ok := unwrap(base, args)
			if !ok {
				return "", false
			}
			ws = inner
		default:
			return "", false
		}
	}
	return "", false
}

// scriptArgStatic reports whether the text after a shell's -c is known.
func scriptArgStatic(args []word) bool {
	for i, a := range args {
		if strings.HasPrefix(a.text, "-") && !strings.HasPrefix(a.text, "--") && strings.Contains(a.text, "c") {
			return i+1 < len(args) && args[i+1].static
		}
	}
	return true
}

func noProgram(args []word, shell bool) bool {
	for i := 0; i < len(args); i++ {
		t := args[i].text
		switch {
		case t == "-" || t == "/dev/stdin" || t == "-s":
			return true
		case shell && (t == "-o" || t == "+o" || t == "-O" || t == "+O" || t == "--rcfile" || t == "--init-file"):
			i++ // bash -O extglob: the option's value, not a script
		case len(t) > 1 && t[0] == '-':
			if t[1] != '-' && containsAny(t, shell) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func containsAny(opt string, shell bool) bool {
	for _, r := range opt[1:] {
		if r == 'c' && shell || (r == 'c' || r == 'e' || r == 'E' || r == 'm' || r == 'r') && !shell {
			return true
		}
	}
	return false
}

func hasPrefixAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}

// stmtInput checks a shell or interpreter whose program arrives through a
// redirection: bash < <(curl …), sh <<< "$(wget -O- …)".
func (c *checker) stmtInput(st *syntax.Stmt) *Refusal {
	if len(st.Redirs) == 0 {
		return nil
	}
	name, ok := c.readsProgramFromStdin(st)
	if !ok {
		return nil
	}
	for _, r := range st.Redirs {
		switch r.Op {
		case syntax.DplIn:
			if (r.N == nil || r.N.Value == "0") && c.p.Has(RuleFetchRun) {
				return refuse(RuleFetchRun, "%s reads its program from another descriptor (<&N), whose content the command does not show; run a file you can inspect", name)
			}
		case syntax.RdrIn, syntax.RdrInOut:
			w := c.evalWord(r.Word)
			if r := c.scriptFile(name, w); r != nil {
				return r
			}
		case syntax.WordHdoc:
			if r := c.scriptWord(name, c.evalWord(r.Word)); r != nil {
				return r
			}
		case syntax.Hdoc, syntax.DashHdoc:
			if r.Hdoc != nil {
				if r := c.scriptWord(name, c.evalWord(r.Hdoc)); r != nil {
					return r
				}
			}
		}
	}
	return nil
}

// redirect checks the file a redirection reads or writes.
func (c *checker) redirect(r *syntax.Redirect) *Refusal {
	if r.Word == nil {
		return nil
	}
	var write bool
	switch r.Op {
	case syntax.RdrOut, syntax.AppOut, syntax.RdrClob, syntax.AppClob, syntax.RdrAll, syntax.RdrAllClob, syntax.AppAll, syntax.RdrInOut:
		write = true
	case syntax.RdrIn:
	case syntax.DplOut, syntax.DplIn:
		w := c.evalWord(r.Word)
		if w.text == "-" || isDigits(w.text) {
			return nil
		}
		write = r.Op == syntax.DplOut
	default:
		return nil
	}
	if !c.p.Has(RuleLocalFile) && !c.p.Has(RuleNetwork) {
		return nil
	}
	w := c.evalWord(r.Word)
	if !c.p.Has(RuleLocalFile) {
		return nil
	}
	return c.checkPath("the redirection", w.text, write)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
