package policy

import (
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Line editors take their commands from standard input: `w FILE` writes
// any file, `!cmd` and `w !cmd` run a shell. Commands given in the text
// (a here-document or a here-string) are judged; from a file, a pipe or
// a descriptor they are not shown, and the editor is refused.

// edWrite is an ed or ex command writing a file: an optional address,
// w, W, wq, x, sav(eas), up to the file name.
var edWrite = regexp.MustCompile(`^[0-9.,$;'+\-a-z/]*?\s*(?:w|W|wq|x|sav|saveas|wa)!?\s+(\S.*)$`)

// edShell is an ed or ex command that runs a shell: !cmd after an
// optional address (1,$!sort), or a command given !cmd (w !cmd, r !cmd,
// e !cmd, silent !cmd); w! and q! only force.
var edShell = regexp.MustCompile(`^[0-9.,$;'+\-/]*\s*!|^[0-9.,$;'+\-/]*\s*[a-zA-Z]+!?\s+!`)

// edReads is an editor reading its commands from its input: ed and red,
// ex, and vim started as ex (-e, -E, -es).
func edReads(base string, args []word) bool {
	switch base {
	case "ed", "ex":
		return true
	case "vim", "vi", "nvim", "view", "rvim":
		for _, a := range args {
			if a.text == "-e" || a.text == "-E" || a.text == "-es" || a.text == "-Es" {
				return true
			}
		}
	}
	return false
}

// edHooks judges the editor commands a line editor reads.
func (c *checker) edHooks(base string, args []word) *Refusal {
	if !edReads(base, args) {
		return nil
	}
	text, shown, fed := c.stdinText()
	if !fed {
		return nil // a person at a terminal types them
	}
	if !shown {
		if c.p.Has(RuleDynamic) {
			return refuse(RuleDynamic, "%s reads editor commands from input the command does not show (w FILE writes anywhere, !cmd runs a shell); give them in a here-document, or edit with sed", base)
		}
		return nil
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimLeft(strings.TrimSpace(line), ":")
		if edShell.MatchString(line) || strings.Contains(line, "system(") {
			if c.p.Has(RuleDynamic) {
				return refuse(RuleDynamic, "%s command %q runs a shell command, which the check does not follow; run the command directly", base, line)
			}
			continue
		}
		if m := edWrite.FindStringSubmatch(line); m != nil {
			if r := c.checkOperand(base, strings.TrimSpace(m[1]), true); r != nil {
				return r
			}
		}
	}
	return nil
}

// stdinText is what the simple command being checked reads on standard
// input: fed is false when nothing is redirected or piped to it, shown
// when the command holds the text itself (a here-document or a
// here-string with a known value).
func (c *checker) stdinText() (text string, shown, fed bool) {
	var st *syntax.Stmt
	for i := len(c.stack) - 1; i >= 0; i-- {
		if s, ok := c.stack[i].(*syntax.Stmt); ok && s.Cmd == c.curCall {
			st = s
			if i > 0 {
				if b, ok := c.stack[i-1].(*syntax.BinaryCmd); ok && (b.Op == syntax.Pipe || b.Op == syntax.PipeAll) && b.Y == s {
					fed = true // from the stage before: not shown
				}
			}
			break
		}
	}
	if st == nil {
		return "", false, c.curCall == nil
	}
	for _, r := range st.Redirs {
		if r.N != nil && r.N.Value != "0" {
			continue
		}
		switch r.Op {
		case syntax.RdrIn, syntax.RdrInOut, syntax.DplIn:
			return "", false, true
		case syntax.WordHdoc:
			w := c.evalWord(r.Word)
			return w.text, w.static, true
		case syntax.Hdoc, syntax.DashHdoc:
			if r.Hdoc == nil {
				return "", true, true
			}
			w := c.evalWord(r.Hdoc)
			return w.text, w.static, true
		}
	}
	return "", false, fed
}
