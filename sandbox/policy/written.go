package policy

import (
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
// echo/printf with an output redirection, or a here-document sent to
// cat or tee. Text the validator cannot know is remembered as unknown.
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
		}
	}
	ws := c.evalWords(call.Args[1:])
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
		text = strings.NewReplacer(`\n`, "\n", `\t`, " ").Replace(text)
	case "cat", "tee":
		if heredoc == nil {
			return
		}
		w := c.evalWord(heredoc)
		text, known = w.text, w.static
		if name == "tee" {
			for _, a := range ws {
				if !strings.HasPrefix(a.text, "-") {
					targets = append(targets, a.text)
				}
			}
		}
	default:
		return
	}
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

func (c *checker) judgeWritten(by string, wf *writtenFile) *Refusal {
	if !wf.known {
		if c.p.Has(RuleDynamic) {
			return refuse(RuleDynamic, "%s runs a script this command wrote with computed content, which cannot be checked; write the commands directly", by)
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
	if first, _, _ := strings.Cut(text, "\n"); strings.HasPrefix(first, "#!") && !shells[shebangInterpreter(first)] {
		return nil // not a shell script
	}
	r := c.script(text, c.depth+1)
	if r != nil && r.Rule == RuleSyntax {
		// Not shell text after all (data, another language): the shell
		// will fail on it the same way.
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
