package policy

import (
	"errors"
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// fileKey names a file the same way however the command spells it:
// x, ./x and /work/x are one file.
func (c *checker) fileKey(p string) string {
	p = path.Clean(p)
	if rest, ok := strings.CutPrefix(p, c.work+"/"); ok {
		return rest
	}
	return p
}

// recordWrite remembers shell text a statement writes to a file:
// echo/printf with an output redirection, or a here-document or
// here-string sent to cat or tee. Text the validator cannot know, and
// whatever any other command writes to a redirection, is remembered as
// unknown, so running the file is refused.
func (c *checker) recordWrite(st *syntax.Stmt) {
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) == 0 {
		return
	}
	name := call.Args[0].Lit()
	var text string
	known := true
	var heredoc *syntax.Word
	var targets []string
	for _, r := range st.Redirs {
		switch r.Op {
		case syntax.RdrOut, syntax.AppOut, syntax.RdrClob, syntax.RdrAll, syntax.AppAll:
			if w := c.evalWord(r.Word); w.static {
				targets = append(targets, w.text)
			}
		case syntax.Hdoc, syntax.DashHdoc:
			heredoc = r.Hdoc
		case syntax.WordHdoc:
			heredoc = r.Word
		}
	}
	ws := c.evalWords(call.Args[1:])
	if name == "dd" {
		for _, w := range ws {
			if of, ok := strings.CutPrefix(w.text, "of="); ok && w.static {
				targets = append(targets, of)
			}
		}
	}
	if len(targets) == 0 && name != "tee" {
		return
	}
	switch name {
	case "echo", "printf":
		var parts []string
		for _, w := range ws {
			if name == "echo" && len(parts) == 0 && strings.HasPrefix(w.text, "-") {
				continue
			}
			parts = append(parts, w.text)
			known = known && w.static
		}
		text = strings.Join(parts, " ")
		// printf and echo -e interpret backslash escapes; judge the text
		// with them turned into line breaks, the way the file will read.
		// Any other escape (\163 is s) is decoded only when it runs.
		text = strings.NewReplacer(`\n`, "\n", `\t`, " ").Replace(text)
		known = known && !strings.Contains(text, `\`)
	case "cat", "tee":
		if name == "tee" {
			for _, a := range ws {
				if !strings.HasPrefix(a.text, "-") {
					targets = append(targets, a.text)
				}
			}
		}
		if heredoc == nil {
			text, known = "", false // what it copies is not shown
			break
		}
		w := c.evalWord(heredoc)
		text, known = w.text, w.static
	default:
		text, known = "", false
	}
	c.noteWritten(targets, text, known)
}

// noteWritten adds text (known or not) to what the command wrote to
// each of targets.
func (c *checker) noteWritten(targets []string, text string, known bool) {
	for _, t := range targets {
		for _, k := range c.fileKeys(t) {
			wf := c.written[k]
			if wf == nil {
				wf = &writtenFile{known: true}
				if c.written == nil {
					c.written = map[string]*writtenFile{}
				}
				c.written[k] = wf
			}
			wf.parts = append(wf.parts, text)
			wf.known = wf.known && known
		}
	}
}

// writtenScript judges a file this command wrote and now runs.
func (c *checker) writtenScript(by, file string) *Refusal {
	for _, k := range c.fileKeys(file) {
		if wf := c.written[k]; wf != nil {
			if r := c.judgeWritten(by, wf); r != nil {
				return r
			}
		}
	}
	return nil
}

// fileKeys names a file from every directory the shell may be in.
func (c *checker) fileKeys(p string) []string {
	p = c.inWork(p)
	if strings.HasPrefix(p, "/") {
		return []string{c.fileKey(p)}
	}
	var keys []string
	for _, d := range c.cwds {
		if d == cwdUnknown {
			keys = append(keys, c.fileKey(p))
		} else {
			keys = append(keys, c.fileKey(path.Join(d, p)))
		}
	}
	return keys
}

// copyWritten gives dst what the command wrote to src, for a copy or a
// move of a script it wrote (cp x y; bash y).
func (c *checker) copyWritten(src, dst string) {
	for _, sk := range c.fileKeys(src) {
		wf := c.written[sk]
		if wf == nil {
			continue
		}
		for _, d := range []string{dst, path.Join(dst, path.Base(src))} {
			for _, dk := range c.fileKeys(d) {
				c.written[dk] = wf
			}
		}
	}
}

func (c *checker) judgeWritten(by string, wf *writtenFile) *Refusal {
	if !wf.known {
		if c.p.Has(RuleDynamic) {
			return refuse(RuleDynamic, "%s runs a file this command wrote with content the check cannot see (copied, decoded or computed), which cannot be checked; write the commands directly, or run the program by its own path", by)
		}
		return nil
	}
	// Each run of the file is judged again: pay for the text each time.
	n := len(wf.parts)
	for _, p := range wf.parts {
		n += len(p)
	}
	if !c.spend(n) {
		return c.budgetRefusal()
	}
	text := strings.TrimSpace(strings.Join(wf.parts, "\n"))
	if text == "" {
		return nil
	}
	if first, _, _ := strings.Cut(text, "\n"); strings.HasPrefix(first, "#!") && !shells[shebangInterpreter(first)] && !shells[path.Base(by)] {
		return nil // not a shell script, and run as what its #! names
	}
	r := c.script(text, c.depth+1)
	if r != nil && r.Rule == RuleSyntax {
		// bash runs a script's commands one by one as it reads them, so
		// those before the line it cannot parse run: they are judged.
		if line := syntaxErrorLine(text); line > 1 {
			lines := strings.SplitN(text, "\n", line)
			if r := c.script(strings.Join(lines[:line-1], "\n"), c.depth+1); r != nil && r.Rule != RuleSyntax {
				return r
			}
		}
		return nil
	}
	return r
}

// shebangInterpreter names the program of a #! line, looking through env.
func shebangInterpreter(line string) string {
	f := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(f) == 0 {
		return ""
	}
	name := path.Base(f[0])
	if name == "env" {
		for _, a := range f[1:] {
			if !strings.HasPrefix(a, "-") {
				return path.Base(a)
			}
		}
	}
	return name
}

// syntaxErrorLine is the line of text where the parser stops, or 0.
func syntaxErrorLine(text string) int {
	parser := parsers.Get().(*syntax.Parser)
	_, err := parser.Parse(strings.NewReader(text), "")
	parsers.Put(parser)
	var pe syntax.ParseError
	if errors.As(err, &pe) {
		return int(pe.Pos.Line())
	}
	return 0
}

// copiers are the programs whose writes recordCopy follows;
// metadataOnly change a file's mode, owner or times, not what it holds.
var (
	copiers      = set("cp", "ln", "install", "mv", "link", "rsync")
	metadataOnly = set("chmod", "chown", "chgrp", "touch", "chattr", "setfacl", "chcon")
)

// rewritten notes that a program the checker does not model changed
// file (sed -i on a script the command wrote): what was written is no
// longer what it holds.
func (c *checker) rewritten(file string) {
	for _, k := range c.fileKeys(file) {
		if wf := c.written[k]; wf != nil {
			c.written[k] = &writtenFile{parts: wf.parts, known: false}
		}
	}
}
