package policy

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// The checker follows variables in the order the walk meets their
// assignments, once. bash does not run a script in that order: a loop
// runs its body again after the assignments at its end, a function runs
// where it is called and not where it is defined, a subshell's or a
// pipeline's assignments are lost, `unset`, `${x:=v}`, `local` and
// `read` change a value without the form of an assignment, and a branch
// not taken assigns nothing. So the value the walk holds names a command
// only for a variable every assignment of which, anywhere in the command
// (the text it evals included) and in the task's environment, gives the
// same static text: a command named through a variable given two
// values, or one the checker cannot read, is refused as a dynamic one.
// Elsewhere the walk's value still counts (x=/etc; x=$x/shadow; cat $x
// reads /etc/shadow), since an unknown operand is not refused.

// siteDynamic stands for a value assigned that is not static text.
const siteDynamic = "\x00dynamic"

// noteSite records that name is given value (siteDynamic when unknown)
// somewhere; a name given a second, different value is unknown from then
// on.
func (c *checker) noteSite(name, value string) {
	if c.multi[name] {
		return
	}
	if c.sites == nil {
		c.sites = map[string]string{}
	}
	prev, seen := c.sites[name]
	if !seen && value != siteDynamic {
		c.sites[name] = value
		return
	}
	if seen && prev == value && value != siteDynamic {
		return
	}
	if c.multi == nil {
		c.multi = map[string]bool{}
	}
	c.multi[name] = true
}

// noteSites records every assignment in f, before f is walked.
func (c *checker) noteSites(f *syntax.File) {
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.DeclClause:
			variant := ""
			if n.Variant != nil {
				variant = n.Variant.Value
			}
			for _, a := range n.Args {
				if a.Naked && (variant == "export" || variant == "readonly") {
					continue // marks the variable, keeps its value
				}
				c.noteAssign(a)
			}
			// The arguments' words are walked for what they hold,
			// not as assignments again.
			for _, a := range n.Args {
				if a.Value != nil {
					syntax.Walk(a.Value, func(m syntax.Node) bool { c.noteExpansion(m); return true })
				}
			}
			return false
		case *syntax.Assign:
			c.noteAssign(n)
		case *syntax.WordIter:
			if n.Name != nil {
				c.noteSite(n.Name.Value, siteDynamic)
			}
		case *syntax.CallExpr:
			c.noteCallSites(n)
		default:
			c.noteExpansion(n)
		}
		return true
	})
}

// noteAssign records NAME=value, NAME+=…, NAME[i]=…, NAME=(…) and a
// bare NAME of declare or local (which empties it).
func (c *checker) noteAssign(a *syntax.Assign) {
	if a.Name == nil {
		return
	}
	v := siteDynamic
	switch {
	case a.Naked, a.Value == nil && a.Array == nil && !a.Append && a.Index == nil:
		v = ""
		if a.Naked {
			v = siteDynamic
		}
	case a.Value != nil && a.Array == nil && !a.Append && a.Index == nil:
		if t, ok := staticText(a.Value); ok {
			v = t
		}
	}
	c.noteSite(a.Name.Value, v)
}

// noteExpansion records the assignments expansions make: ${x=v},
// ${x:=v}, and arithmetic's x=…, x+=…, x++ and the like.
func (c *checker) noteExpansion(n syntax.Node) {
	switch n := n.(type) {
	case *syntax.ParamExp:
		if n.Param != nil && n.Exp != nil && (n.Exp.Op == syntax.AssignUnset || n.Exp.Op == syntax.AssignUnsetOrNull) {
			c.noteSite(n.Param.Value, siteDynamic)
		}
	case *syntax.BinaryArithm:
		if n.Op >= syntax.Assgn && n.Op <= syntax.PowAssgn {
			c.noteArithName(n.X)
		}
	case *syntax.UnaryArithm:
		if n.Op == syntax.Inc || n.Op == syntax.Dec {
			c.noteArithName(n.X)
		}
	}
}

func (c *checker) noteArithName(x syntax.ArithmExpr) {
	if w, ok := x.(*syntax.Word); ok {
		if name := w.Lit(); name != "" {
			c.noteSite(name, siteDynamic)
		}
	}
}

// siteBuiltins set or unset the variables their arguments name, or
// (declare and its kin, run through builtin or command, which the parser
// reads as a plain command) assign NAME=value arguments.
var siteBuiltins = set("unset", "read", "mapfile", "readarray", "getopts",
	"printf", "declare", "typeset", "local", "export", "readonly", "let")

// noteCallSites records the variables a builtin sets: every argument
// that names a variable, or assigns one, counts as an assignment the
// checker cannot read, which is what makes `unset x; ${x-su}` and
// `builtin export x=su` unknown.
func (c *checker) noteCallSites(call *syntax.CallExpr) {
	args := call.Args
	for len(args) > 0 && (args[0].Lit() == "builtin" || args[0].Lit() == "command") {
		args = args[1:]
	}
	if len(args) > 0 && args[0].Lit() == "eval" {
		c.noteEvalSites(args[1:])
		return
	}
	if len(args) == 0 || !siteBuiltins[args[0].Lit()] {
		return
	}
	builtin, prev := args[0].Lit(), ""
	for _, a := range args[1:] {
		t, ok := staticText(a)
		if !ok {
			continue
		}
		// printf assigns only the variable -v names; its other words
		// are its format and data.
		if builtin == "printf" && prev != "-v" && !strings.HasPrefix(t, "-v") {
			prev = t
			continue
		}
		prev = t
		if builtin == "let" {
			for _, name := range nameTokens(t) {
				c.noteSite(name, siteDynamic)
			}
			continue
		}
		if strings.HasPrefix(t, "-") {
			// A name glued to its option (printf -vx, read -aarr): every
			// name the option word ends with may be one.
			for i := 1; i < len(t); i++ {
				if isName(t[i:]) {
					c.noteSite(t[i:], siteDynamic)
				}
			}
			continue
		}
		name, _, _ := strings.Cut(t, "=")
		name, _, _ = strings.Cut(name, "[")
		name = strings.TrimSuffix(name, "+")
		if isName(name) {
			c.noteSite(name, siteDynamic)
		}
	}
}

// noteEvalSites records the assignments of the text eval runs, in the
// same shell, when its words are static (one that is not is refused
// where eval is judged). The walk meets them only where the eval stands.
func (c *checker) noteEvalSites(args []*syntax.Word) {
	var parts []string
	for _, a := range args {
		t, ok := staticText(a)
		if !ok {
			return
		}
		parts = append(parts, t)
	}
	if c.evalSitesDepth >= maxDepth {
		return
	}
	parser := parsers.Get().(*syntax.Parser)
	f, err := parser.Parse(strings.NewReader(strings.Join(parts, " ")), "")
	parsers.Put(parser)
	if err != nil {
		return
	}
	c.evalSitesDepth++
	c.noteSites(f)
	c.evalSitesDepth--
}

// staticText is the text of a word made only of literal parts and
// quotes holding nothing to expand.
func staticText(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			if p.Dollar {
				return "", false
			}
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok {
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

// readsMulti names a variable w reads that the command gives more than
// one value, or "".
// The command's assignments are noted the first time a command name
// reads a variable, so commands that name none pay nothing for it.
func (c *checker) readsMulti(w *syntax.Word) string {
	if w == nil {
		return ""
	}
	var names []string
	syntax.Walk(w, func(n syntax.Node) bool {
		if p, ok := n.(*syntax.ParamExp); ok && p.Param != nil {
			names = append(names, p.Param.Value)
		}
		return true
	})
	if len(names) == 0 {
		return ""
	}
	for _, f := range c.unnoted {
		c.noteSites(f)
	}
	c.unnoted = c.unnoted[:0]
	for _, n := range names {
		if c.multi[n] || shellSetVars[n] {
			return n
		}
	}
	return ""
}

// shellSetVars are set by bash itself, with no name in the text: $_ by
// every command, REPLY by read and select, MAPFILE by mapfile, OPTARG by
// getopts, BASH_REMATCH by [[ =~ ]], and the shell's own counters. An
// assignment to one in the text is never its only value. (PWD and
// OLDPWD are followed through cd.)
var shellSetVars = set("_", "REPLY", "MAPFILE", "OPTARG", "OPTIND", "BASH_REMATCH",
	"COPROC", "PIPESTATUS", "RANDOM", "SRANDOM", "SECONDS", "LINENO", "BASH_COMMAND",
	"FUNCNAME", "HISTCMD", "EPOCHREALTIME", "EPOCHSECONDS", "BASHPID", "BASH_ARGV",
	"BASH_ARGC", "BASH_LINENO", "BASH_SOURCE", "BASH_SUBSHELL", "COLUMNS", "LINES",
	"DIRSTACK", "GROUPS", "PPID", "UID", "EUID", "SHLVL", "HOSTNAME", "COMP_WORDS",
	"COMPREPLY", "READLINE_LINE", "BASH_EXECUTION_STRING")
