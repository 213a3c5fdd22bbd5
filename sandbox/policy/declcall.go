package policy

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// declBuiltins are the builtins the parser reads as a declaration
// (syntax.DeclClause) when they start a command; run through `builtin`
// or `command` they are a plain command to it, yet bash still assigns,
// exports and makes namerefs with them.
var declBuiltins = set("declare", "typeset", "local", "export", "readonly")

// declCall judges a declaration builtin reached as a plain command
// (builtin export x=v) as the declaration it is: its words, quoted
// again, are checked as `NAME args…` would be, so every rule on
// assignments (hook variables, namerefs, BASH_CMDS, -i) holds.
func (c *checker) declCall(base string, args []word) *Refusal {
	text := []string{base}
	for _, a := range args {
		if !a.static {
			if c.p.Has(RuleDynamic) {
				return refuse(RuleDynamic, "%s through builtin or command with an argument decided only when the shell runs cannot be checked; write the declaration directly", base)
			}
			return nil
		}
		name, value, assign := strings.Cut(a.text, "=")
		if assign && isName(strings.TrimSuffix(strings.SplitN(name, "[", 2)[0], "+")) && !strings.ContainsAny(name, " \t\n$`'\"\\") {
			q, err := syntax.Quote(value, syntax.LangBash)
			if err != nil {
				return refuse(RuleSyntax, "%s: the value of %s cannot be written as shell text: %v", base, name, err)
			}
			text = append(text, name+"="+q)
			continue
		}
		q, err := syntax.Quote(a.text, syntax.LangBash)
		if err != nil {
			return refuse(RuleSyntax, "%s: the argument %q cannot be written as shell text: %v", base, a.text, err)
		}
		text = append(text, q)
	}
	return c.script(strings.Join(text, " "), c.depth+1)
}
