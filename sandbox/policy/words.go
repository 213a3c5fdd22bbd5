package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// dynamicMark stands in for the part of a word the validator cannot know
// before the shell runs (a variable it did not see assigned, a command
// substitution). It is a glob star, so path rules treat the word as the
// pattern of every string it might become.
const dynamicMark = "*"

// word is one shell word as far as the validator can evaluate it.
type word struct {
	// text is the word after quote removal, with unknown parts replaced
	// by dynamicMark.
	text string
	// static is true when text is exactly what the shell will see.
	static bool
	// glob is true when unquoted glob characters remain, so the shell
	// may turn the word into file names.
	glob bool
	// subst is true when a command or process substitution is part of
	// the word.
	subst bool
	// split is true when an unquoted expansion is part of the word, so
	// the shell splits its value into fields at IFS characters; splitAt
	// are the byte ranges of text those expansions gave, the only text
	// bash splits (quoted and literal text stays whole).
	split   bool
	splitAt [][2]int
	// placeholder is true for a word find -exec or xargs -I fills in.
	placeholder bool
	node        *syntax.Word
}

// maxBraceWords bounds brace expansion so {1..100}{1..100} cannot make
// validation slow.
const maxBraceWords = 64

// evalWords expands the words of a command (brace expansion included)
// with what the checker knows of variables.
func (c *checker) evalWords(ws []*syntax.Word) []word {
	out := make([]word, 0, len(ws))
	for _, w := range ws {
		for _, ew := range c.evalBraces(w) {
			out = append(out, c.fields(ew)...)
		}
	}
	return out
}

// fields splits a word the way the shell does after an unquoted
// expansion: at the characters of IFS, which the command may have set
// (IFS=,; x=sudo,id; $x runs sudo).
func (c *checker) fields(w word) []word {
	if !w.split {
		return []word{w}
	}
	if c.ifsUnknown {
		w.static = false
		return []word{w}
	}
	if !w.static || c.ifs == "" || !strings.ContainsAny(w.text, c.ifs) {
		return []word{w}
	}
	var out []word
	var f strings.Builder
	field := func() {
		if f.Len() > 0 {
			fw := w
			fw.text, fw.splitAt = f.String(), nil
			out = append(out, fw)
			f.Reset()
		}
	}
	for i := 0; i < len(w.text); i++ {
		if strings.IndexByte(c.ifs, w.text[i]) >= 0 && inRanges(w.splitAt, i) {
			field()
			continue
		}
		f.WriteByte(w.text[i])
	}
	field()
	if len(out) == 0 {
		return []word{w}
	}
	return out
}

func inRanges(rs [][2]int, i int) bool {
	for _, r := range rs {
		if i >= r[0] && i < r[1] {
			return true
		}
	}
	return false
}

func (c *checker) evalBraces(w *syntax.Word) []word {
	cp := &syntax.Word{Parts: append([]syntax.WordPart(nil), w.Parts...)}
	if !syntax.SplitBraces(cp) {
		return []word{c.evalWord(w)}
	}
	if braceGroups(cp) > maxBraceGroups {
		// Expanding costs the square of the groups per word; a word with
		// this many is not written by hand.
		c.overBudget = true
		return []word{c.evalWord(w)}
	}
	var out []word
	for ew, err := range expand.BracesSeq(nil, cp) {
		if err != nil {
			break
		}
		if len(out) >= maxBraceWords {
			// The words past the bound go unjudged: they may only
			// differ from those judged in digits.
			if !numericBraces(cp) {
				c.overBudget, c.braceOverflow = true, true
			}
			break
		}
		ww := c.evalWord(ew)
		ww.node = w
		if len(out) > 0 && !c.spend(len(ww.text)) {
			break
		}
		out = append(out, ww)
	}
	if len(out) == 0 {
		return []word{c.evalWord(w)}
	}
	return out
}

// evalValue evaluates an assignment's value: a word, in which bash also
// expands a tilde after each ":" of its unquoted text (x=a:~root/x,
// x=~/a:~root/b, x="a":~root/b).
func (c *checker) evalValue(w *syntax.Word) word {
	parts, known, copied := w.Parts, true, false
	for i, p := range w.Parts {
		l, ok := p.(*syntax.Lit)
		if !ok || !strings.Contains(l.Value, "~") || strings.ContainsAny(l.Value, "\\*?[") {
			continue
		}
		skip := 1 // a part after the first continues the segment before it
		if i == 0 {
			skip = 0
		}
		v, ok := c.tildeList(l.Value, skip)
		if v == l.Value {
			continue
		}
		if !copied { // the parser's tree stays as it is
			parts, copied = slices.Clone(w.Parts), true
		}
		parts[i] = &syntax.Lit{ValuePos: l.ValuePos, ValueEnd: l.ValueEnd, Value: v}
		known = known && ok
	}
	r := c.evalWord(&syntax.Word{Parts: parts})
	r.node, r.static = w, r.static && known
	return r
}

// tildeList expands, as bash does in an assignment's value, a tilde
// prefix at the start of each ":"-separated segment of list, from the
// skip-th segment on.
func (c *checker) tildeList(list string, skip int) (string, bool) {
	segs := strings.Split(list, ":")
	known := true
	for i := skip; i < len(segs); i++ {
		if strings.HasPrefix(segs[i], "~") {
			t, ok := c.tilde(segs[i])
			segs[i], known = t, known && ok
		}
	}
	return strings.Join(segs, ":"), known
}

// tilde is the path a word starting with a tilde prefix (~, ~user, ~+,
// ~-) names, and whether it is known: ~ is $HOME (the work dir inside
// the sandbox), ~+ the working directory, ~- the previous one (unknown
// here), ~root /root, and another user's home is under /home.
func (c *checker) tilde(v string) (string, bool) {
	user, rest := v[1:], ""
	if i := strings.IndexByte(user, '/'); i >= 0 {
		user, rest = user[:i], user[i:]
	}
	switch user {
	case "":
		home, ok := c.home()
		return home + rest, ok
	case "+":
		if v, ok := c.vars["PWD"]; ok { // bash reads $PWD
			return v + rest, strings.HasPrefix(v, "/")
		}
		if len(c.cwds) == 1 && c.cwds[0] != cwdUnknown {
			return c.cwds[0] + rest, true
		}
		return "/" + dynamicMark + rest, false
	case "-":
		if v, ok := c.vars["OLDPWD"]; ok {
			return v + rest, strings.HasPrefix(v, "/")
		}
		return "/" + dynamicMark + rest, false
	case "root":
		return "/root" + rest, true
	}
	return "/home/" + dynamicMark + rest, false
}

// numericBraces reports a word whose brace expressions are all
// sequences of numbers ({1..254}), whose words differ only in digits.
func numericBraces(w *syntax.Word) bool {
	for _, p := range w.Parts {
		b, ok := p.(*syntax.BraceExp)
		if !ok {
			continue
		}
		if !b.Sequence {
			return false
		}
		for _, e := range b.Elems {
			if _, err := strconv.Atoi(e.Lit()); err != nil {
				return false
			}
		}
	}
	return true
}

// maxBraceGroups bounds the brace expressions in one word.
const maxBraceGroups = 8

// braceGroups counts the brace expressions of a word that SplitBraces
// has split, nested ones included (syntax.Walk does not visit them).
func braceGroups(w *syntax.Word) int {
	n := 0
	for _, p := range w.Parts {
		if b, ok := p.(*syntax.BraceExp); ok {
			n++
			for _, e := range b.Elems {
				if n > maxBraceGroups {
					return n
				}
				n += braceGroups(e)
			}
		}
	}
	return n
}

func (c *checker) evalWord(w *syntax.Word) word {
	r := word{static: true, node: w}
	var b strings.Builder
	for i, p := range w.Parts {
		c.evalPart(&b, &r, p, false, i == 0)
	}
	r.text = b.String()
	return r
}

func (c *checker) evalPart(b *strings.Builder, r *word, p syntax.WordPart, quoted, first bool) {
	switch p := p.(type) {
	case *syntax.Lit:
		v := p.Value
		if !quoted {
			if first && strings.HasPrefix(v, "~") {
				t, ok := c.tilde(v)
				b.WriteString(t)
				r.static = r.static && ok
				return
			}
			if first && !strings.ContainsAny(v, "\\*?[") {
				// bash expands a tilde after the "=" of an argument that
				// looks like an assignment, and after each ":" in it
				// (dd if=~root/x; PATH-like lists).
				if name, val, ok := strings.Cut(v, "="); ok && isName(name) && strings.Contains(val, "~") {
					val, known := c.tildeList(val, 0)
					r.static = r.static && known
					b.WriteString(name + "=" + val)
					return
				}
			}
			if hasGlob(v) {
				r.glob = true
			}
			v = unescape(v)
		} else {
			v = unescapeDouble(v)
		}
		b.WriteString(v)
	case *syntax.SglQuoted:
		if p.Dollar {
			// The parser's library does not know bash's \x{HH}: it is
			// written \xHH for it.
			v, braced := bracedHex(p.Value)
			s, err := expand.Literal(nil, &syntax.Word{Parts: []syntax.WordPart{&syntax.SglQuoted{Dollar: true, Value: v}}})
			// Nor \cX (control-X), so a word holding one is not known
			// exactly, nor is a \x{…} of more than one byte.
			if err != nil || strings.Contains(p.Value, `\c`) || !braced {
				b.WriteString(dynamicMark)
				r.static = false
				return
			}
			b.WriteString(s)
			return
		}
		b.WriteString(p.Value)
	case *syntax.DblQuoted:
		for i, q := range p.Parts {
			c.evalPart(b, r, q, true, first && i == 0)
		}
	case *syntax.ParamExp:
		r.split = r.split || !quoted
		v, ok := c.paramValue(p)
		if ok && !c.spend(len(v)) {
			v, ok = "", false
		}
		if !ok {
			r.static = false
			if v == "" {
				v = dynamicMark
			}
		}
		if !quoted {
			r.splitAt = append(r.splitAt, [2]int{b.Len(), b.Len() + len(v)})
		}
		b.WriteString(v)
	case *syntax.CmdSubst, *syntax.ProcSubst:
		r.split = r.split || !quoted
		b.WriteString(dynamicMark)
		r.static = false
		r.subst = true
	default:
		// Arithmetic, extended globs and anything newer: unknown.
		b.WriteString(dynamicMark)
		r.static = false
	}
}

// paramValue resolves $NAME and ${NAME} when the script assigned NAME a
// static value earlier, and the other forms (${x%Z}, ${x,,}, ${!y},
// ${x:1}, ${x/a/b} …) when every variable they read was so assigned.
func (c *checker) paramValue(p *syntax.ParamExp) (string, bool) {
	if p.Param == nil || p.Excl || p.Length || p.Width || p.Index != nil ||
		p.Slice != nil || p.Repl != nil || p.Exp != nil || p.Names != 0 ||
		p.Flags != nil || p.NestedParam != nil || len(p.Modifiers) > 0 {
		return c.paramByShell(p)
	}
	name := p.Param.Value
	if name == "HOME" {
		return c.home()
	}
	if _, set := c.vars[name]; name == "PWD" && !set && len(c.cwds) == 1 && c.cwds[0] != cwdUnknown {
		return c.cwds[0], true
	}
	v, ok := c.vars[name]
	if _, arr := c.arrays[name]; arr && !ok {
		return c.paramByShell(p) // $a is its first element
	}
	return v, ok
}

// paramByShell evaluates an expansion form beyond $NAME with the shell
// library's own expander, fed only the variables the script assigned
// static values: a form that reads any other (the task's environment, a
// command's output, a name list) stays unknown.
func (c *checker) paramByShell(p *syntax.ParamExp) (string, bool) {
	known := p.Param != nil && p.Names == 0
	syntax.Walk(p, func(n syntax.Node) bool {
		if !known {
			return false
		}
		switch n := n.(type) {
		case *syntax.ParamExp:
			v, ok := "", false
			if n.Param != nil {
				v, ok = c.vars[n.Param.Value]
				if _, arr := c.arrays[n.Param.Value]; arr && !ok {
					ok = !n.Excl
				}
			}
			if ok && n.Excl {
				_, ok = c.vars[v]
			}
			known = ok && n.Names == 0
		case *syntax.CmdSubst, *syntax.ProcSubst:
			known = false
		}
		return known
	})
	// bash 5.2 puts the match where an unquoted & stands in the
	// replacement of ${x/p/r} (patsub_replacement) and removes its
	// backslashes; the library's expander does neither.
	if !known || p.Repl != nil && p.Repl.With != nil && bashReplacement(p.Repl.With) {
		return "", false
	}
	if p.Repl != nil && anchored(p.Repl.Orig) {
		return c.anchoredRepl(p)
	}
	cfg := &expand.Config{Env: knownEnv{c}, NoUnset: true}
	s, err := expand.Literal(cfg, &syntax.Word{Parts: []syntax.WordPart{p}})
	if err != nil {
		return "", false
	}
	return s, true
}

// bracedHex rewrites each \x{HH} escape of the text of a $'…' string as
// \xHH; ok is false for one naming more than a byte.
func bracedHex(v string) (string, bool) {
	if !strings.Contains(v, `\x{`) {
		return v, true
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i+1 == len(v) {
			b.WriteByte(v[i])
			continue
		}
		if !strings.HasPrefix(v[i:], `\x{`) {
			b.WriteString(v[i : i+2]) // an escape, such as \\, stays whole
			i++
			continue
		}
		end := strings.IndexByte(v[i:], '}')
		if end < 0 {
			return "", false
		}
		hex := strings.TrimLeft(v[i+3:i+end], "0")
		n, err := strconv.ParseUint(cmp.Or(hex, "0"), 16, 8)
		if err != nil {
			return "", false
		}
		fmt.Fprintf(&b, `\x%02x`, n)
		i += end
	}
	return b.String(), true
}

// anchored reports a ${x/#p/r} or ${x/%p/r} pattern, which the
// library's expander matches anywhere instead of at the start or end.
func anchored(orig *syntax.Word) bool {
	if orig == nil || len(orig.Parts) == 0 {
		return false
	}
	l, ok := orig.Parts[0].(*syntax.Lit)
	return ok && (strings.HasPrefix(l.Value, "#") || strings.HasPrefix(l.Value, "%"))
}

// anchoredRepl is ${x/#p/r} (${x/%p/r}), which the library's expander
// reads as ${x/p/r}: r and what is left once ${x##p} (${x%%p}) removed
// the longest match at the start (end), or x where nothing matched.
func (c *checker) anchoredRepl(p *syntax.ParamExp) (string, bool) {
	orig := p.Repl.Orig
	lit := orig.Parts[0].(*syntax.Lit)
	op := syntax.RemLargePrefix
	if lit.Value[0] == '%' {
		op = syntax.RemLargeSuffix
	}
	pat := &syntax.Word{Parts: append([]syntax.WordPart{&syntax.Lit{Value: lit.Value[1:]}}, orig.Parts[1:]...)}
	if p.Index != nil || pat.Lit() == "" && len(orig.Parts) == 1 && len(lit.Value) == 1 {
		return "", false // arrays, and an empty pattern, which bash matches as nothing
	}
	whole, ok := c.paramByShell(&syntax.ParamExp{Param: p.Param})
	rest, ok2 := c.paramByShell(&syntax.ParamExp{Param: p.Param, Exp: &syntax.Expansion{Op: op, Word: pat}})
	with := ""
	if p.Repl.With != nil {
		var err error
		with, err = expand.Literal(&expand.Config{Env: knownEnv{c}, NoUnset: true}, p.Repl.With)
		ok2 = ok2 && err == nil
	}
	switch {
	case !ok || !ok2:
		return "", false
	case rest == whole:
		return whole, true
	case op == syntax.RemLargePrefix:
		return with + rest, true
	}
	return rest + with, true
}

// bashReplacement reports a ${x/p/r} replacement holding & or a
// backslash.
func bashReplacement(w *syntax.Word) bool {
	found := false
	syntax.Walk(w, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Lit:
			found = found || strings.ContainsAny(n.Value, "&\\")
		case *syntax.SglQuoted:
			found = found || strings.ContainsAny(n.Value, "&\\")
		}
		return !found
	})
	return found
}

// knownEnv is what the checker knows of the command's variables, as the
// shell library's expander reads them.
type knownEnv struct{ c *checker }

func (e knownEnv) Get(name string) expand.Variable {
	if v, ok := e.c.vars[name]; ok {
		return expand.Variable{Set: true, Kind: expand.String, Str: v}
	}
	if l, ok := e.c.arrays[name]; ok {
		return expand.Variable{Set: true, Kind: expand.Indexed, List: l}
	}
	return expand.Variable{}
}

func (e knownEnv) Each(fn func(name string, vr expand.Variable) bool) {
	for name := range e.c.vars {
		if !fn(name, e.Get(name)) {
			return
		}
	}
	for name := range e.c.arrays {
		if !fn(name, e.Get(name)) {
			return
		}
	}
}

// unescape removes the backslashes of an unquoted literal: \s is s and a
// backslash-newline disappears, as the shell does.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			if s[i] == '\n' {
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unescapeDouble removes the backslashes bash removes inside double
// quotes: before $ ` " \ and newline (a backslash-newline disappears);
// every other backslash stays. The text given to sh -c "…" or eval "…"
// is then exactly what the nested shell parses: sh -c "cat \"/x\""
// runs cat "/x", a quoted /x, not a file named "/x" with its quotes.
func unescapeDouble(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '$', '`', '"', '\\':
				i++
			case '\n':
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// hasGlob reports unquoted pattern characters: * ? or a [ with a closing ].
func hasGlob(v string) bool {
	if strings.ContainsAny(v, "*?") {
		return true
	}
	i := strings.IndexByte(v, '[')
	return i >= 0 && strings.IndexByte(v[i+1:], ']') >= 0
}

// home is the value of $HOME: what the command assigned it, or the home
// mark (the work dir inside the sandbox) while it has not touched it.
func (c *checker) home() (string, bool) {
	if v, ok := c.vars["HOME"]; ok {
		return v, true
	}
	if c.homeUnknown {
		return "/home/" + dynamicMark, false
	}
	return homeMark, true
}
