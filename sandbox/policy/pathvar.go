package policy

import (
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// pathVar judges an assignment to PATH. A directory the command may
// write, put before the system's, makes any command name run a program
// put there (cp /usr/bin/unshare b/ls; PATH=b:$PATH ls), which the check
// judges by the name it reads. What follows $PATH is searched only for
// names the system's directories lack, and stays allowed
// (PATH=$PATH:~/bin).
func (c *checker) pathVar(value word) *Refusal {
	if !c.p.Has(RuleDynamic) || value.node == nil {
		return nil
	}
	// The parts in order, each quoted part on its own; an argument of
	// env (PATH=dir) carries its name.
	var parts []syntax.WordPart
	for i, p := range value.node.Parts {
		if l, ok := p.(*syntax.Lit); ok && i == 0 {
			if rest, ok := strings.CutPrefix(l.Value, "PATH="); ok {
				p = &syntax.Lit{ValuePos: l.ValuePos, ValueEnd: l.ValueEnd, Value: rest}
			}
		}
		if dq, ok := p.(*syntax.DblQuoted); ok {
			for _, q := range dq.Parts {
				parts = append(parts, &syntax.DblQuoted{Left: dq.Left, Right: dq.Right, Parts: []syntax.WordPart{q}})
			}
			continue
		}
		parts = append(parts, p)
	}
	var before []syntax.WordPart
	for _, p := range parts {
		inner := p
		if dq, ok := p.(*syntax.DblQuoted); ok {
			inner = dq.Parts[0]
		}
		if pe, ok := inner.(*syntax.ParamExp); ok && pe.Param != nil && pe.Param.Value == "PATH" {
			break
		}
		before = append(before, p)
	}
	if len(before) == 0 {
		return nil
	}
	w := c.evalWord(&syntax.Word{Parts: before})
	if !w.static {
		return refuse(RuleDynamic, "PATH is given a directory decided only when the shell runs, before the system's, so which program a name runs cannot be checked; add directories after $PATH, or run the program by its path")
	}
	for _, d := range strings.Split(w.text, ":") {
		if d == "" {
			continue // "" and a trailing ":" add nothing here
		}
		clean := path.Clean(c.inWork(d))
		if !strings.HasPrefix(d, "/") || underAny(clean, append([]string{c.work}, c.writable...)) {
			return refuse(RuleDynamic, "PATH puts %s, a directory the command may write, before the system's, so a program put there could stand for any command name; add it after $PATH, or run the program by its path", showPath(d))
		}
	}
	return nil
}
