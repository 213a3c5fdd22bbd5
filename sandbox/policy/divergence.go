package policy

import (
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// Text the parser (mvdan.cc/sh) reads otherwise than bash does. The
// checker judges the parser's tree, so where bash would run a line, a
// word or an expansion the tree does not hold, the command is refused,
// naming what to write instead. Each form was found by running texts
// through both and comparing what bash executed with what the tree
// said (attack_findings_test.go); all are rare in commands people write.

// divergentText refuses forms visible in the text alone.
func divergentText(src string) *Refusal {
	if i := strings.IndexByte(src, '\r'); i >= 0 {
		// A blank to the parser (and, after a backslash, a line
		// continuation), part of a word to bash: `echo \<CR><LF>cmd`
		// is one command to the one and two to the other.
		line, col := position(src, i)
		return refuse(RuleSyntax, "line %d, column %d: the command holds a carriage return, which bash reads as part of a word and the checker as a blank; end lines with a newline alone (dos2unix), or write the character as $'\\r'", line, col)
	}
	if i := strings.Index(src, "$\\\n"); i >= 0 {
		// bash joins the lines first, so `$\<LF>(cmd)` is a command
		// substitution (and `$\<LF>'…'` an ANSI-C string); the parser
		// keeps a literal "$".
		line, col := position(src, i)
		return refuse(RuleSyntax, "line %d, column %d: a line continuation right after \"$\", which bash joins into an expansion the checker reads as text; put the continuation elsewhere", line, col)
	}
	return nil
}

// divergentTree refuses forms the tree f of src shows.
func divergentTree(src string, f *syntax.File) *Refusal {
	joined := strings.Contains(src, "\\\n")
	if joined {
		if r := commentRefusal(src); r != nil {
			return r
		}
	}
	if !joined && !strings.Contains(src, "${") {
		return nil
	}
	bodies := map[*syntax.Word]bool{} // unquoted here-document bodies
	var stack []syntax.Node
	var out *Refusal
	syntax.Walk(f, func(n syntax.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		switch n := n.(type) {
		case *syntax.Redirect:
			if (n.Op == syntax.Hdoc || n.Op == syntax.DashHdoc) && n.Hdoc != nil && unquotedDelimiter(n.Word) {
				bodies[n.Hdoc] = true
				// bash joins a body line ending in a backslash to the
				// next before comparing it with the delimiter, so it
				// can end the body where the parser does not.
				if body := nodeText(src, n.Hdoc); joined && strings.Contains(body, "\\\n") {
					out = refuse(RuleSyntax, "line %d: a here-document whose body holds a line ending in a backslash: bash joins the lines before it looks for the end marker, so it can end the document elsewhere; quote the marker (<<'EOF') or remove the backslash", n.Hdoc.Pos().Line())
				}
			}
		case *syntax.ParamExp:
			if out == nil && n.Exp != nil && substitutes(n.Exp.Op) && n.Exp.Word != nil && quotedContext(stack, bodies) {
				// In "${x-'…'}" bash keeps the single quotes as text and
				// expands what they hold; the parser reads a quoted
				// string.
				for _, part := range n.Exp.Word.Parts {
					if _, ok := part.(*syntax.SglQuoted); ok {
						out = refuse(RuleSyntax, "line %d, column %d: single quotes in ${%s…} inside double quotes or a here-document, where bash keeps them as text and expands what they hold; drop the single quotes, or the double quotes", part.Pos().Line(), part.Pos().Col(), paramName(n))
						break
					}
				}
			}
		}
		return out == nil
	})
	return out
}

// substitutes reports the ${x-w} family, whose word bash reads as in
// double quotes when the expansion is.
func substitutes(op syntax.ParExpOperator) bool {
	switch op {
	case syntax.AlternateUnset, syntax.AlternateUnsetOrNull, syntax.DefaultUnset,
		syntax.DefaultUnsetOrNull, syntax.ErrorUnset, syntax.ErrorUnsetOrNull,
		syntax.AssignUnset, syntax.AssignUnsetOrNull:
		return true
	}
	return false
}

// quotedContext reports whether the node on top of stack is inside
// double quotes or an unquoted here-document body.
func quotedContext(stack []syntax.Node, bodies map[*syntax.Word]bool) bool {
	for _, n := range stack[:len(stack)-1] {
		switch n := n.(type) {
		case *syntax.DblQuoted:
			return true
		case *syntax.Word:
			if bodies[n] {
				return true
			}
		}
	}
	return false
}

// unquotedDelimiter reports a here-document marker without quotes or
// backslashes, whose body bash expands.
func unquotedDelimiter(w *syntax.Word) bool {
	if w == nil {
		return false
	}
	for _, part := range w.Parts {
		l, ok := part.(*syntax.Lit)
		if !ok || strings.ContainsRune(l.Value, '\\') {
			return false
		}
	}
	return true
}

func paramName(p *syntax.ParamExp) string {
	if p.Param != nil {
		return p.Param.Value
	}
	return ""
}

// nodeText is the source text n spans.
func nodeText(src string, n syntax.Node) string {
	if !n.Pos().IsValid() || !n.End().IsValid() {
		return ""
	}
	a, b := int(n.Pos().Offset()), int(n.End().Offset())
	if a < 0 || b > len(src) || a > b {
		return ""
	}
	return src[a:b]
}

// commentParsers keep comments, to look at them (commentRefusal).
var commentParsers = sync.Pool{New: func() any {
	return syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(true))
}}

// commentRefusal refuses a comment ending in a backslash: the parser
// reads the backslash and newline as a line continuation, so the next
// line becomes part of the comment, where bash ends a comment at the
// newline and runs the next line.
func commentRefusal(src string) *Refusal {
	p := commentParsers.Get().(*syntax.Parser)
	f, err := p.Parse(strings.NewReader(src), "")
	commentParsers.Put(p)
	if err != nil {
		return syntaxRefusal(err)
	}
	var out *Refusal
	syntax.Walk(f, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.Comment); ok && out == nil && strings.Contains(c.Text, "\n") {
			out = refuse(RuleSyntax, "line %d, column %d: a comment ends in a backslash, which bash does not join to the next line; remove the backslash, or end the comment before it", c.Pos().Line(), c.Pos().Col())
		}
		return out == nil
	})
	return out
}
