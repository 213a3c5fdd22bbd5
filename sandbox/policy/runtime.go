package policy

import (
	"slices"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// Shell features that evaluate text at run time. A static check cannot
// follow them, so the checker refuses the forms that turn data into code
// (under dynamic-command) and leaves the rest to confinement.

// hookVars are variables whose value the shell or a program runs or
// sources: setting one is running code the checker cannot see.
var hookVars = set("BASH_ENV", "ENV", "PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS4",
	"BASH_ALIASES", "BASH_CMDS", "BASH_LOADABLES_PATH", "LD_PRELOAD", "LD_AUDIT",
	"GCONV_PATH", "PERL5OPT", "PERL5DB",
	"RUBYOPT", "NODE_OPTIONS", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXTERNAL_DIFF",
	"GIT_PAGER", "GIT_EDITOR", "GIT_ASKPASS", "GIT_PROXY_COMMAND", "GIT_CONFIG_PARAMETERS",
	"GIT_CONFIG_COUNT", "GIT_EXEC_PATH", "SSH_ASKPASS", "PAGER", "MANPAGER", "EDITOR", "VISUAL",
	// bash as Debian builds it (SSH_SOURCE_BASHRC) runs ~/.bashrc when
	// started with either set, as if by sshd.
	"SSH_CLIENT", "SSH2_CLIENT")

// scriptVars hold shell text the program runs; their value is checked
// as a script instead of refused. LESSOPEN and LESSCLOSE are a pipe
// (|cmd %s) less runs on every file it opens.
var scriptVars = set("LESSOPEN", "LESSCLOSE", "PAGER", "MANPAGER", "EDITOR", "VISUAL",
	"GIT_PAGER", "GIT_EDITOR", "GIT_SSH_COMMAND", "GIT_EXTERNAL_DIFF", "PROMPT_COMMAND")

// assignHook judges an assignment (NAME=value, export, declare, or an
// argument of env) for what the value will run.
func (c *checker) assignHook(name string, value word, hasValue bool) *Refusal {
	if !c.p.Has(RuleDynamic) {
		return nil
	}
	switch {
	case strings.HasPrefix(name, "BASH_FUNC_"):
		// An exported function: the shell that starts defines it.
		if !value.static {
			return refuse(RuleDynamic, "%s defines a shell function from text computed at run time, which cannot be checked; define the function in the command", name)
		}
		return c.script("f"+value.text, c.depth+1)
	case scriptVars[name]:
		if !hasValue || value.text == "" {
			return nil
		}
		if !value.static {
			return refuse(RuleDynamic, "%s holds a command computed at run time, which the program will run; write the value literally", name)
		}
		text := strings.TrimLeft(value.text, "|-")
		text = strings.ReplaceAll(text, "%s", "file")
		return c.script(text, c.depth+1)
	case name == "PS4" || name == "PS0" || name == "PS1" || name == "PS2":
		// ${x@P} expands x as a prompt in turn, $(…) in it included,
		// and a subscript is arithmetic, which runs a[$(cmd)] in a value.
		if strings.Contains(value.text, "$(") || strings.Contains(value.text, "`") || !value.static ||
			strings.Contains(value.text, "@P") || strings.Contains(value.text, "$") && strings.Contains(value.text, "[") {
			return refuse(RuleDynamic, "%s is expanded by the shell as it runs, so a command substitution in it runs unchecked; use a plain prompt", name)
		}
		return nil
	case hookVars[name]:
		if hasValue && value.static && value.text == "" {
			return nil
		}
		return refuse(RuleDynamic, "setting %s makes the shell or a program run or load code the check cannot see; run that code directly", name)
	case name == "PATH" && hasValue:
		return c.pathVar(value)
	case name == "IFS":
		if value.static {
			c.ifs = value.text
		} else {
			c.ifs, c.ifsUnknown = "", true
		}
	}
	return nil
}

// declFlags judges declare/typeset/local options: -n makes one name
// stand for another, which the checker cannot follow; -i makes every
// later assignment an arithmetic evaluation.
func (c *checker) declFlags(d *syntax.DeclClause) *Refusal {
	integer, cased := false, false
	for _, a := range d.Args {
		if a.Naked && a.Name == nil && a.Value != nil {
			// Evaluated: bash reads "-n" quoted as -n.
			w := c.evalWord(a.Value)
			if !w.static && c.p.Has(RuleDynamic) {
				return refuse(RuleDynamic, "%s is given an option computed at run time, which cannot be checked; write the options out", d.Variant.Value)
			}
			flag := w.text
			// export -n only stops exporting a variable.
			if strings.HasPrefix(flag, "-") && strings.Contains(flag, "n") && d.Variant.Value != "export" || d.Variant.Value == "nameref" {
				if c.p.Has(RuleDynamic) {
					return refuse(RuleDynamic, "declare -n makes one variable name stand for another, so what the command reads and sets cannot be followed; use the variable itself")
				}
			}
			if strings.HasPrefix(flag, "-") && strings.Contains(flag, "i") {
				integer = true
			}
			// -l, -u, -c change the case of every value assigned.
			if strings.HasPrefix(flag, "-") && strings.ContainsAny(flag, "luc") {
				cased = true
			}
			continue
		}
		if a.Name == nil {
			continue
		}
		if cased {
			if c.casedVars == nil {
				c.casedVars = map[string]bool{}
			}
			c.casedVars[a.Name.Value] = true
		}
		if integer {
			if c.intVars == nil {
				c.intVars = map[string]bool{}
			}
			c.intVars[a.Name.Value] = true
		}
	}
	return nil
}

// arithmetic judges the variables an arithmetic context evaluates. Bash
// evaluates a variable's value as an expression again, and an array
// subscript in it runs command substitutions: x='a[$(id)]'; $((x)).
func (c *checker) arithmetic(names []string) *Refusal {
	if !c.p.Has(RuleDynamic) {
		return nil
	}
	// A value naming another variable is evaluated in turn (z=y; $((z))).
	seen := map[string]bool{}
	for len(names) > 0 && len(seen) < maxArithNames {
		n := names[0]
		names = names[1:]
		if seen[n] {
			continue
		}
		seen[n] = true
		v, ok := c.vars[n]
		if ok && codeInArithmetic(v) || c.tainted[n] {
			return refuse(RuleDynamic, "arithmetic on $%s evaluates its value as an expression, and an array subscript in it (a[$(cmd)]) runs commands; check the value is a number first ([[ $%s =~ ^[0-9]+$ ]])", n, n)
		}
		if ok {
			names = append(names, nameTokens(v)...)
		}
	}
	return nil
}

// maxArithNames bounds the variables one arithmetic context follows.
const maxArithNames = 256

// nameTokens are the words of text that can name variables, as
// arithmetic reads it.
func nameTokens(text string) []string {
	var names []string
	for _, f := range strings.FieldsFunc(text, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		if isName(f) {
			names = append(names, f)
		}
	}
	return names
}

// paramArith are the arithmetic expressions of a parameter expansion:
// its substring offset and length, its subscript.
func paramArith(p *syntax.ParamExp) []syntax.Node {
	var xs []syntax.Node
	if p.Slice != nil {
		xs = appendArith(xs, p.Slice.Offset, p.Slice.Length)
	}
	return appendArith(xs, p.Index)
}

// assignArith are the subscripts of an assignment: a[i]=v, a=([i]=v).
func assignArith(a *syntax.Assign) []syntax.Node {
	xs := appendArith(nil, a.Index)
	if a.Array != nil {
		for _, e := range a.Array.Elems {
			xs = appendArith(xs, e.Index)
		}
	}
	return xs
}

// appendArith appends the expressions that are there.
func appendArith(xs []syntax.Node, add ...syntax.ArithmExpr) []syntax.Node {
	for _, x := range add {
		if x != nil {
			xs = append(xs, x)
		}
	}
	return xs
}

// arithExprs judges arithmetic expressions: the variables they read
// (arithmetic) and single-quoted text in them. bash expands an
// arithmetic expression's text quotes and all, so '$(cmd)' there
// (${a['$(cmd)']}, $(( '$(cmd)' )), a['$(cmd)']=v, for ((i='$(cmd)';;)))
// runs cmd where the parser read a quoted string.
func (c *checker) arithExprs(xs ...syntax.Node) *Refusal {
	if !c.p.Has(RuleDynamic) {
		return nil
	}
	var names []string
	for _, x := range xs {
		if x == nil {
			continue
		}
		quoted := false
		syntax.Walk(x, func(n syntax.Node) bool {
			if q, ok := n.(*syntax.SglQuoted); ok && quotedCode(q) {
				quoted = true
			}
			return !quoted
		})
		if quoted {
			return refuse(RuleDynamic, "single quotes in an arithmetic expression or an array subscript do not keep bash from expanding what they hold, and '$(cmd)' there runs cmd; write the subscript or number without quotes")
		}
		names = append(names, arithNames(x)...)
	}
	return c.arithmetic(names)
}

// quotedCode reports a single-quoted string holding an expansion or
// command substitution once its escapes ($'\x24') are read.
func quotedCode(q *syntax.SglQuoted) bool {
	v := q.Value
	if q.Dollar {
		s, err := expand.Literal(nil, &syntax.Word{Parts: []syntax.WordPart{q}})
		if err != nil || strings.Contains(v, `\x{`) || strings.Contains(v, `\c`) {
			return true
		}
		v = s
	}
	return strings.ContainsAny(v, "$`")
}

// plantedSubscript refuses a command that holds, as text, an array
// subscript with a command substitution (a[$(cmd)], quoted so it is not
// run where it is written) and evaluates arithmetic anywhere: bash
// evaluates a variable's value as an expression, so text that reaches
// one through positional parameters, a loop, a function's arguments or
// printf -v runs there, wherever the checker lost track of it.
func (c *checker) plantedSubscript(src string, f *syntax.File) *Refusal {
	if !c.p.Has(RuleDynamic) || !strings.Contains(src, "[") || !strings.ContainsAny(src, "$`") {
		return nil
	}
	planted, arith := false, false
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Word:
			planted = planted || subscriptCode(literalText(n))
		case *syntax.ArithmExp, *syntax.ArithmCmd, *syntax.LetClause, *syntax.CStyleLoop:
			arith = true
		case *syntax.ParamExp:
			arith = arith || n.Slice != nil || n.Index != nil
		case *syntax.Assign:
			arith = arith || len(assignArith(n)) > 0
		case *syntax.DeclClause:
			arith = true // declare -i, and names given subscripts
		case *syntax.BinaryTest:
			arith = arith || arithTest(n.Op)
		case *syntax.CallExpr:
			if len(n.Args) > 0 {
				name := n.Args[0].Lit()
				arith = arith || name == "let" || name == "printf" || name == "read" || name == "test" || name == "["
			}
		}
		return !(planted && arith)
	})
	if planted && arith {
		return refuse(RuleDynamic, "the command holds an array subscript with a command substitution as text (a[$(cmd)]) and evaluates arithmetic, where bash would run that substitution if the text reaches it; do not write such text")
	}
	return nil
}

// literalText is the text a word's literal and quoted parts hold,
// backslashes removed, in order.
func literalText(w *syntax.Word) string {
	var b strings.Builder
	syntax.Walk(w, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Lit:
			b.WriteString(n.Value)
		case *syntax.SglQuoted:
			b.WriteString(n.Value)
		}
		return true
	})
	return strings.ReplaceAll(b.String(), `\`, "")
}

// subscriptCode reports "[" followed, before a "]", by "$(" or "`".
func subscriptCode(s string) bool {
	for i := strings.IndexByte(s, '['); i >= 0; {
		rest := s[i+1:]
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			end = len(rest)
		}
		if strings.Contains(rest[:end], "$(") || strings.Contains(rest[:end], "`") {
			return true
		}
		j := strings.IndexByte(rest, '[')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func codeInArithmetic(v string) bool {
	return strings.Contains(v, "$(") || strings.Contains(v, "`") || strings.Contains(v, "[") && strings.Contains(v, "$")
}

// arithNames lists the variables an arithmetic expression reads, by
// name (x) or by expansion ($x).
func arithNames(n syntax.Node) []string {
	if n == nil {
		return nil
	}
	var names []string
	syntax.Walk(n, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.ParamExp:
			if n.Param != nil {
				names = append(names, n.Param.Value)
			}
		case *syntax.Word:
			if l := n.Lit(); isName(l) {
				names = append(names, l)
			}
		}
		return true
	})
	return names
}

func isName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// arithTest reports the [[ ]] operators that compare as numbers, which
// evaluate both sides as arithmetic.
func arithTest(op syntax.BinTestOperator) bool {
	switch op {
	case syntax.TsEql, syntax.TsNeq, syntax.TsLeq, syntax.TsGeq, syntax.TsLss, syntax.TsGtr:
		return true
	}
	return false
}

// promptExpansion reports ${x@P}, which expands the value as a prompt
// string, running the command substitutions it holds.
func promptExpansion(p *syntax.ParamExp) bool {
	return p.Exp != nil && p.Exp.Op == syntax.OtherParamOps && p.Exp.Word != nil && p.Exp.Word.Lit() == "P"
}

// taintedSubst reports a command substitution whose output is data the
// command reads (a file's or a download's content).
func taintedSubst(w *syntax.Word) bool {
	found := false
	syntax.Walk(w, func(n syntax.Node) bool {
		if call, ok := n.(*syntax.CallExpr); ok && len(call.Args) > 0 {
			switch name := call.Args[0].Lit(); {
			case fetchers[name], decoders[name], dataPrinters[name]:
				found = true
			}
		}
		return !found
	})
	return found
}

var dataPrinters = set("cat", "head", "tail", "cut", "sed", "awk", "jq", "xargs", "tac", "strings", "od", "xxd", "printenv", "env")

// nameOperand judges a word a builtin takes as a variable's name: a
// subscript in it (a[…]) is arithmetic, and bash runs the command
// substitutions it holds, also when the word was quoted
// (read 'a[$(cmd)]').
func (c *checker) nameOperand(builtin string, w word) *Refusal {
	if !c.p.Has(RuleDynamic) {
		return nil
	}
	name, _, _ := strings.Cut(w.text, "=")
	if base, _, _ := strings.Cut(name, "["); hookVars[base] {
		// BASH_CMDS[ls] makes ls run another program.
		return refuse(RuleDynamic, "%s sets %s, which makes the shell or a program run code the check cannot see; do not set it", builtin, base)
	}
	if strings.Contains(name, "[") && (!w.static || codeInArithmetic(name)) {
		return refuse(RuleDynamic, "%s takes %q as a variable's name, and bash evaluates its subscript as arithmetic, running the commands it holds; use a plain name or a literal subscript", builtin, name)
	}
	return nil
}

// nameOperands says, for builtins that take variables' names, which
// operands are names: with all, every operand but the values of the
// options listed; without, only the operand after one of them.
var nameOperands = map[string]struct {
	all  bool
	opts string
}{
	"read":      {true, "-p -d -t -n -N -u -i"},
	"mapfile":   {true, "-d -n -O -s -u -C -c"},
	"readarray": {true, "-d -n -O -s -u -C -c"},
	"unset":     {true, ""},
	"getopts":   {true, ""},
	"printf":    {false, "-v"},
	"test":      {false, "-v"},
	"[":         {false, "-v"},
	"wait":      {false, "-p"},
}

// names judges the operands of a builtin call ws that are variables'
// names (nameOperand).
func (c *checker) names(ws []word) *Refusal {
	spec, ok := nameOperands[ws[0].text]
	if !ok || !ws[0].static {
		return nil
	}
	opts := strings.Fields(spec.opts)
	for i := 1; i < len(ws); i++ {
		if !spec.all {
			// printf -v NAME, -vNAME, wait -np NAME: a value follows its
			// option letter in the same word, or is the next word.
			if name, next := optionValue(ws[i].text, opts); next && i+1 < len(ws) {
				i++
			} else if name != "" {
				w := ws[i]
				w.text = name
				if r := c.nameOperand(ws[0].text, w); r != nil {
					return r
				}
				continue
			} else {
				continue
			}
		} else if slices.Contains(opts, ws[i].text) && i+1 < len(ws) {
			i++
			continue // the option's value
		} else if ws[0].text == "getopts" && i == 1 {
			continue // its option string
		}
		if r := c.nameOperand(ws[0].text, ws[i]); r != nil {
			return r
		}
	}
	return nil
}

// unprefixed is a builtin call ws without the builtin and command
// words before the builtin's name, which run it all the same.
func unprefixed(ws []word) []word {
	for len(ws) > 1 && ws[0].static && (ws[0].text == "builtin" || ws[0].text == "command") {
		ws = ws[1:]
	}
	return ws
}

// optionValue reads a word of clustered short options (-np, -vNAME) for
// one of opts (-v, -p): the value glued after its letter, or next when
// the letter ends the word and the value is the next word.
func optionValue(arg string, opts []string) (value string, next bool) {
	if len(arg) < 2 || arg[0] != '-' || arg[1] == '-' {
		return "", false
	}
	for i := 1; i < len(arg); i++ {
		if slices.Contains(opts, "-"+arg[i:i+1]) {
			if i+1 == len(arg) {
				return "", true
			}
			return arg[i+1:], false
		}
	}
	return "", false
}
