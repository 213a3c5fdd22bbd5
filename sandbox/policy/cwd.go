package policy

import (
	"path"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// The checker follows the working directory through cd, pushd and popd,
// so that relative paths are judged where they point: cd /etc && cat
// shadow names /etc/shadow, and cd src && ls .. stays in the work dir.
//
// It keeps the set of directories the shell may be in. A cd that guards
// what follows with && replaces the set for the rest of that chain, and
// the old set comes back when the chain ends (the cd may have failed); a
// cd anywhere else (after ;, inside if, loops, ||, functions) adds to the
// set. Subshells, pipeline stages, substitutions and background jobs
// cannot change the parent's directory, so the set is restored after
// them.

// cwdUnknown stands for a directory the checker cannot know (cd "$d",
// cd -); relative paths are then judged on their own, as text.
const cwdUnknown = "?"

// maxCwds bounds the set; beyond it the directory counts as unknown.
const maxCwds = 16

// homeMark is what ~ and an unassigned $HOME become: the home directory,
// which is the work dir inside the sandbox. It matches the /home/*
// patterns of the sensitive paths (so ~/.ssh is still refused) and
// cannot be typed, since commands may not hold a NUL byte.
const homeMark = "/home/\x00"

// showPath renders a path for a refusal message.
func showPath(p string) string { return strings.ReplaceAll(p, homeMark, "~") }

// inWork turns a path under the home mark into the work dir path it is.
func (c *checker) inWork(p string) string {
	if p == homeMark || strings.HasPrefix(p, homeMark+"/") {
		return c.work + p[len(homeMark):]
	}
	return p
}

func addCwd(set []string, d string) []string {
	for _, s := range set {
		if s == d {
			return set
		}
	}
	if len(set) >= maxCwds {
		return []string{cwdUnknown}
	}
	return append(set, d)
}

func unionCwds(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, d := range b {
		out = addCwd(out, d)
	}
	return out
}

// resolve returns the absolute paths a relative path names from each
// directory the shell may be in; "" stands for an unknown directory.
func (c *checker) resolve(rel string) []string {
	out := make([]string, 0, len(c.cwds))
	for _, d := range c.cwds {
		if d == cwdUnknown {
			out = append(out, "")
			continue
		}
		out = append(out, path.Join(d, rel))
	}
	return out
}

// absCwd is v as a working directory: absolute, else unknown.
func (c *checker) absCwd(v string) string {
	if strings.HasPrefix(v, "/") {
		return path.Clean(v)
	}
	return cwdUnknown
}

// chdir applies cd, pushd or popd with its arguments.
func (c *checker) chdir(base string, args []word) {
	var target *word
	for i := range args {
		t := args[i].text
		if t == "--" {
			if i+1 < len(args) {
				target = &args[i+1]
			}
			break
		}
		if strings.HasPrefix(t, "-") && len(t) > 1 || strings.HasPrefix(t, "+") && base != "cd" {
			continue
		}
		target = &args[i]
		break
	}
	var next []string
	switch {
	case base == "popd":
		if n := len(c.dirStack); n > 0 {
			next = c.dirStack[n-1]
			c.dirStack = c.dirStack[:n-1]
		} else {
			next = unionCwds(c.visited, []string{cwdUnknown})
		}
	case target == nil && base != "cd":
		next = c.cwds
	case target == nil: // cd alone goes home
		if home, ok := c.home(); ok && strings.HasPrefix(c.inWork(home), "/") {
			next = []string{path.Clean(c.inWork(home))}
		} else {
			next = []string{cwdUnknown}
		}
	case target.text == "-": // back to $OLDPWD, one of those seen
		next = c.visited
		if v, ok := c.vars["OLDPWD"]; ok { // or the one the command set
			next = addCwd(slices.Clone(next), c.absCwd(v))
		}
	case !target.static || target.glob:
		next = []string{cwdUnknown}
	default:
		t := c.inWork(target.text)
		if v, ok := c.vars["CDPATH"]; ok && v != "" && !strings.HasPrefix(t, "/") {
			// cd searches CDPATH's directories first.
			for dir := range strings.SplitSeq(v, ":") {
				if strings.HasPrefix(dir, "/") {
					next = addCwd(next, path.Join(dir, t))
				}
			}
		}
		for _, d := range c.cwds {
			switch {
			case strings.HasPrefix(t, "/"):
				next = addCwd(next, path.Clean(t))
			case d == cwdUnknown:
				next = addCwd(next, cwdUnknown)
			default:
				next = addCwd(next, path.Join(d, t))
			}
		}
	}
	if base == "pushd" {
		c.dirStack = append(c.dirStack, c.cwds)
	}
	if c.inLoop() && target != nil && (strings.Contains(target.text, "..") || !target.static) {
		// Run again and again, cd .. climbs further each time.
		next = addCwd(next, cwdUnknown)
	}
	c.visited = unionCwds(c.visited, next)
	switch c.guarded() {
	case guardAnd:
		c.cwdFallback = unionCwds(c.cwdFallback, c.cwds)
		c.cwds = next
	case guardExit:
		c.cwds = next // the shell does not go on without the cd
	default:
		c.cwds = unionCwds(c.cwds, next)
	}
}

// How a cd's failure is handled by what surrounds it.
const (
	guardNone = iota // the next commands may run without the cd
	guardAnd         // cd x && …: the chain stops, later statements run
	guardExit        // cd x || exit: the shell stops
)

// guarded reports whether the command being checked guards what follows
// it with && (cd x && ls ..), with no || before it that could run the
// rest without it (a || cd x && ls ..).
func (c *checker) guarded() int {
	if c.inFunc > 0 {
		// A function body is checked where it is defined, not where
		// it runs: its cd may happen anywhere, or never.
		return guardNone
	}
	st := c.stack
	i := len(st) - 2 // the statement of the current call
	if i < 1 {
		return guardNone
	}
	found := guardNone
	for i >= 1 {
		s, ok := st[i].(*syntax.Stmt)
		if !ok || s.Negated || s.Background {
			return guardNone
		}
		b, ok := st[i-1].(*syntax.BinaryCmd)
		if !ok {
			return found
		}
		switch {
		case b.Op == syntax.OrStmt && b.X == s && exits(b.Y):
			if found == guardNone {
				found = guardExit
			}
		case b.Op == syntax.OrStmt && b.X == s:
			// cd x || y: y runs with the old directory too (see
			// enterScope), and so does what follows.
		case b.Op != syntax.AndStmt:
			return guardNone
		case b.X == s:
			found = guardAnd
		}
		i -= 2
	}
	return found
}

// exits reports a statement that ends the shell or function: exit,
// return, or a group that ends with one.
func exits(s *syntax.Stmt) bool {
	switch cmd := s.Cmd.(type) {
	case *syntax.CallExpr:
		if len(cmd.Args) > 0 {
			name := cmd.Args[0].Lit()
			return name == "exit" || name == "return"
		}
	case *syntax.Block:
		return len(cmd.Stmts) > 0 && exits(cmd.Stmts[len(cmd.Stmts)-1])
	}
	return false
}

func (c *checker) inLoop() bool { return c.loops > 0 }

// enterScope saves the directory set where a node runs in a child
// process, and, for the right side of ||, adds the directories a failed
// left side may have left.
func (c *checker) enterScope(n syntax.Node) {
	switch n := n.(type) {
	case *syntax.ForClause, *syntax.WhileClause:
		c.loops++
	case *syntax.FuncDecl:
		c.inFunc++
	case *syntax.Subshell, *syntax.CmdSubst, *syntax.ProcSubst:
		c.saveCwd(n)
	case *syntax.BinaryCmd:
		if n.Op == syntax.Pipe || n.Op == syntax.PipeAll {
			c.saveCwd(n)
		}
	case *syntax.Stmt:
		if n.Background {
			c.saveCwd(n)
		}
		if len(c.stack) > 0 {
			if b, ok := c.stack[len(c.stack)-1].(*syntax.BinaryCmd); ok && b.Op == syntax.OrStmt && b.Y == n {
				c.cwds = unionCwds(c.cwds, c.cwdFallback)
			}
		}
	}
}

func (c *checker) saveCwd(n syntax.Node) {
	if c.savedCwds == nil {
		c.savedCwds = map[syntax.Node][]string{}
	}
	c.savedCwds[n] = c.cwds
}

// leaveScope restores what enterScope saved, and at the end of an &&/||
// chain brings back the directories a failed cd would have left.
func (c *checker) leaveScope(n syntax.Node) {
	switch n.(type) {
	case *syntax.ForClause, *syntax.WhileClause:
		c.loops--
	case *syntax.FuncDecl:
		c.inFunc--
	}
	if saved, ok := c.savedCwds[n]; ok {
		c.cwds = saved
		delete(c.savedCwds, n)
	}
	b, ok := n.(*syntax.BinaryCmd)
	if !ok || (b.Op != syntax.AndStmt && b.Op != syntax.OrStmt) {
		return
	}
	// The chain ends here unless its statement is itself part of one.
	if k := len(c.stack); k >= 3 {
		if outer, ok := c.stack[k-3].(*syntax.BinaryCmd); ok && (outer.Op == syntax.AndStmt || outer.Op == syntax.OrStmt) {
			return
		}
	}
	c.cwds = unionCwds(c.cwds, c.cwdFallback)
	c.cwdFallback = nil
}
