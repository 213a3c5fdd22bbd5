package policy

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"
)

// Limits on what the validator will look at, so that any input is
// answered quickly.
const (
	maxCommandBytes = 64 << 10
	maxDepth        = 4
)

// Validate checks command against the named profile of the built-in
// policy (empty means the default, strict). It returns a *Refusal naming
// the rule, or nil when the command may run.
func Validate(command, profile string) error {
	return DefaultPolicy().Validate(command, profile)
}

// Validate checks command against the named profile of this policy.
func (p *Policy) Validate(command, profile string) error {
	pr, err := p.Profile(profile)
	if err != nil {
		return err
	}
	return pr.Validate(command)
}

// Validate checks command against this profile.
func (pr *Profile) Validate(command string) error {
	return pr.ValidateEnv(command, nil)
}

// ValidateEnv checks command as it will run: with env (KEY=VALUE, a
// task's variables) already set. The command expands those values as
// words ($OPTS), so the checker knows them as it knows variables the
// command assigns: `tar cf x.tar $OPTS f` with OPTS holding
// --checkpoint-action=exec=CMD is judged as if written out.
func (pr *Profile) ValidateEnv(command string, env []string) error {
	return pr.Check(command, env, Scope{})
}

// Check checks command as it will run: with env (KEY=VALUE) set, in
// scope (what it sees and may write). It returns a *Refusal naming the
// rule, or nil when the command may run. The zero Scope is the minimal
// view (Validate, ValidateEnv).
func (pr *Profile) Check(command string, env []string, scope Scope) error {
	c := newChecker(pr, command)
	if scope.HostView || scope.WorkDir != "" || len(scope.Writable) > 0 || len(scope.Masked) > 0 {
		c.setScope(scope)
	}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			c.noteSite(k, v)
			c.setVar(k, v)
		}
	}
	if r := c.script(command, 0); r != nil {
		return r
	}
	return nil
}

// Check checks command against the named profile, with env set, in
// scope (see Profile.Check).
func (p *Policy) Check(command, profile string, env []string, scope Scope) error {
	pr, err := p.Profile(profile)
	if err != nil {
		return err
	}
	return pr.Check(command, env, scope)
}

// setScope makes the checker judge paths as they are in scope.
func (c *checker) setScope(s Scope) {
	c.scope = s
	c.work = s.workDir()
	if s.WorkDir == "" && len(s.Writable) == 0 {
		c.writable = minimalWritable
	} else {
		c.writable = s.writableRoots()
	}
	c.cwds, c.visited = []string{c.work}, []string{c.work}
}

// minimalWritable are the writable roots of the zero Scope.
var minimalWritable = (&Scope{}).writableRoots()

// ValidateEnv checks command against the named profile, with env set.
func (p *Policy) ValidateEnv(command, profile string, env []string) error {
	pr, err := p.Profile(profile)
	if err != nil {
		return err
	}
	return pr.ValidateEnv(command, env)
}

// newChecker starts a walk of command under profile pr.
func newChecker(pr *Profile, command string) *checker {
	// The maps are made when first written: most commands need none.
	c := &checker{p: pr, budget: newBudget(command), ifs: " \t\n"}
	c.setScope(Scope{})
	return c
}

// checker walks one command's syntax tree. It remembers what earlier
// statements did (static variable values, functions, fetches) so later
// statements are judged with that knowledge.
type checker struct {
	p *Profile
	// scope is where the command runs; work and writable are its work
	// dir and writable roots.
	scope    Scope
	work     string
	writable []string
	vars     map[string]string
	// arrays are the indexed arrays assigned static elements.
	arrays map[string][]string
	// links are the symbolic links the command made (ln -s), by the
	// name it gave them, and what they point at: a path through one is
	// judged as where it leads.
	links   map[string]string
	funcs   map[string]bool
	fetched bool
	depth   int
	// pipesSeen holds the pipe nodes already judged as part of a longer
	// pipeline.
	pipesSeen map[*syntax.BinaryCmd]bool
	// written holds the shell text this command wrote to files (echo,
	// printf, here-documents), so running such a file is judged by it.
	written map[string]*writtenFile
	// seen, when set, is told the name of every program the command
	// runs, wrapped ones included (Programs).
	seen func(base string)
	// curCall is the simple command being checked; pipeInput holds the
	// names an xargs stage reads, when the stage before it shows them.
	curCall   *syntax.CallExpr
	pipeInput map[*syntax.CallExpr][]string
	// called, when set, is told every simple command as the checker
	// evaluated its words, with the nesting depth of the script it is in.
	called func(depth int, ws []word)
	// budget is what is left of the bytes the checker may simulate (see
	// spend); overBudget is set once it ran out.
	budget     int
	overBudget bool
	// braceOverflow is set when brace expansion made more words than
	// the check expands (maxBraceWords), not only numbers.
	braceOverflow bool
	// casedVars were declared -l, -u or -c: a value assigned them is
	// not the value the command sees.
	casedVars map[string]bool
	// homeUnknown is set once the command gives HOME a value the
	// checker cannot know.
	homeUnknown bool
	// cwds are the directories the shell may be in (see cwd.go), with
	// what a failed cd would leave, pushd's stack, the nodes being
	// walked and the sets saved for child processes.
	cwds        []string
	cwdFallback []string
	dirStack    [][]string
	visited     []string // every directory the shell may have been in
	stack       []syntax.Node
	savedCwds   map[syntax.Node][]string
	loops       int // loops around the node being checked
	inFunc      int // function bodies around it
	// tainted are variables holding data read at run time; intVars were
	// declared -i; ifs is IFS as assigned ("" and ifsUnknown when the
	// checker cannot know it).
	tainted map[string]bool
	intVars map[string]bool
	copies  map[string]string // file key → program it is a copy of
	// sites is the one static value every assignment of a variable
	// gives it; multi are those given more than one, or one not known,
	// whose values the walk does not follow (assignsites.go).
	sites          map[string]string
	multi          map[string]bool
	evalSitesDepth int
	unnoted        []*syntax.File
	ifs            string
	ifsUnknown     bool
}

// writtenFile is the text written to one file, in the order written.
type writtenFile struct {
	parts []string
	known bool
}

func refuse(rule, format string, args ...any) *Refusal {
	return &Refusal{Rule: rule, Reason: fmt.Sprintf(format, args...)}
}

// script parses and checks shell text: the command itself, or the text
// given to sh -c, eval, alias and the like.
func (c *checker) script(src string, depth int) *Refusal {
	if depth > maxDepth {
		return refuse(RuleDynamic, "commands nested more than %d levels deep (sh -c inside eval inside …) cannot be checked; write the command directly", maxDepth)
	}
	if len(src) > maxCommandBytes {
		return refuse(RuleSyntax, "the command is %d bytes; the limit is %d", len(src), maxCommandBytes)
	}
	if strings.TrimSpace(src) == "" {
		return refuse(RuleSyntax, "the command is empty")
	}
	if r := textRefusal(src); r != nil {
		return r
	}
	if r := divergentText(src); r != nil {
		return r
	}
	if c.p.Has(RuleUnicode) {
		if r, ok := invisibleRune(src); ok {
			return refuse(RuleUnicode, "the command contains the invisible or direction-changing character U+%04X; remove it", r)
		}
		if i := strings.IndexFunc(src, terminalControl); i >= 0 {
			line, col := position(src, i)
			r, _ := utf8.DecodeRuneInString(src[i:])
			return refuse(RuleUnicode, "line %d, column %d: the command holds the control character U+%04X, which a terminal acts on instead of showing (it can hide or rewrite what a reader sees); write it as $'\\u%04x'", line, col, r, r)
		}
	}
	parser := parsers.Get().(*syntax.Parser)
	f, err := parser.Parse(strings.NewReader(src), "")
	parsers.Put(parser) // the tree it returned owns its memory
	if err != nil {
		return syntaxRefusal(err)
	}
	if len(f.Stmts) == 0 {
		return refuse(RuleSyntax, "the command has no statements (only comments?)")
	}
	if r := divergentTree(src, f); r != nil {
		return r
	}
	if r := c.plantedSubscript(src, f); r != nil {
		return r
	}
	c.unnoted = append(c.unnoted, f) // its assignments are noted when first needed
	saved, savedStack := c.depth, c.stack
	c.depth, c.stack = depth, nil
	defer func() { c.depth, c.stack = saved, savedStack }()
	var out *Refusal
	syntax.Walk(f, func(n syntax.Node) bool {
		if n == nil { // leaving the node on top of the stack
			c.leaveScope(c.stack[len(c.stack)-1])
			c.stack = c.stack[:len(c.stack)-1]
			return true
		}
		if out != nil {
			return false
		}
		c.enterScope(n)
		c.stack = append(c.stack, n)
		out = c.node(n)
		if out == nil && c.overBudget {
			out = c.budgetRefusal()
		}
		if out != nil {
			c.stack = c.stack[:len(c.stack)-1]
		}
		return out == nil
	})
	return out
}

// parsers are reused across checks: a parser's buffers cost more to
// allocate than most commands cost to check.
var parsers = sync.Pool{New: func() any { return syntax.NewParser(syntax.Variant(syntax.LangBash)) }}

// textRefusal refuses bytes a shell command cannot hold or the parser
// cannot read, naming the byte and where it is.
func textRefusal(src string) *Refusal {
	if i := strings.IndexByte(src, 0); i >= 0 {
		line, col := position(src, i)
		return refuse(RuleSyntax, "line %d, column %d: the command holds a NUL byte, which no command can carry (the kernel ends arguments at it); remove it, or produce the byte with printf '\\0'", line, col)
	}
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRuneInString(src[i:])
		if r == utf8.RuneError && n == 1 {
			line, col := position(src, i)
			return refuse(RuleSyntax, "line %d, column %d: the byte 0x%02X is not valid UTF-8; commands are UTF-8 text: convert the text (iconv -f latin1 -t utf-8) or write the byte as $'\\x%02x'", line, col, src[i], src[i])
		}
		i += n
	}
	return nil
}

// position gives the 1-based line and column of byte offset i.
func position(src string, i int) (line, col int) {
	line = 1 + strings.Count(src[:i], "\n")
	return line, i - strings.LastIndexByte(src[:i], '\n')
}

func syntaxRefusal(err error) *Refusal {
	var pe syntax.ParseError
	if errors.As(err, &pe) {
		return refuse(RuleSyntax, "line %d, column %d: %s", pe.Pos.Line(), pe.Pos.Col(), pe.Text)
	}
	var le syntax.LangError
	if errors.As(err, &le) {
		return refuse(RuleSyntax, "line %d, column %d: %s is not supported by bash", le.Pos.Line(), le.Pos.Col(), le.Feature)
	}
	return refuse(RuleSyntax, "%v", err)
}

// terminalControl reports a control character other than tab and
// newline (a carriage return has its own refusal): C0, DEL and C1, which
// terminals read as cursor moves, colours and commands of their own.
func terminalControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n') || (r >= 0x7f && r <= 0x9f)
}

// invisibleRune finds characters that show as nothing or as a blank, or
// change the direction of the text around them, which make a command
// read differently from how the shell runs it: Unicode's format
// characters (Cf: zero-width, direction marks and overrides, tags,
// interlinear annotation), line and paragraph separators, variation
// selectors, the other default-ignorable code points (Hangul fillers,
// the combining grapheme joiner), and blanks other than the ASCII space
// (no-break, ideographic and braille blanks), which read as a space and
// are none to the shell.
func invisibleRune(s string) (rune, bool) {
	for _, r := range s {
		if Invisible(r) {
			return r, true
		}
	}
	return 0, false
}

// Invisible reports a character invisibleRune finds; the CLI shows one
// in a command as its escape.
func Invisible(r rune) bool {
	return r >= 0x80 && (unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Zs,
		unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) ||
		r == 0x180E || r == 0x2800)
}

func (c *checker) node(n syntax.Node) *Refusal {
	switch n := n.(type) {
	case *syntax.FuncDecl:
		if n.Name == nil {
			return nil
		}
		if c.funcs == nil {
			c.funcs = map[string]bool{}
		}
		c.funcs[n.Name.Value] = true
		if c.p.Has(RuleDestruction) && forkBomb(n) {
			return refuse(RuleDestruction, "function %q calls itself in the background or through a pipe: that is a fork bomb", n.Name.Value)
		}
	case *syntax.BinaryCmd:
		if n.Op == syntax.Pipe || n.Op == syntax.PipeAll {
			return c.pipeline(n)
		}
	case *syntax.Stmt:
		c.recordWrite(n)
		return c.stmtInput(n)
	case *syntax.Redirect:
		return c.redirect(n)
	case *syntax.DeclClause:
		if r := c.declFlags(n); r != nil {
			return r
		}
		for _, a := range n.Args {
			if a.Naked && a.Value != nil {
				if r := c.nameOperand(n.Variant.Value, c.evalWord(a.Value)); r != nil {
					return r
				}
			}
		}
		for _, a := range n.Args {
			if r := c.assign(a); r != nil {
				return r
			}
		}
	case *syntax.ArithmExp:
		return c.arithExprs(n.X)
	case *syntax.ArithmCmd:
		return c.arithExprs(n.X)
	case *syntax.CStyleLoop:
		return c.arithExprs(appendArith(nil, n.Init, n.Cond, n.Post)...)
	case *syntax.LetClause:
		return c.arithExprs(appendArith(nil, n.Exprs...)...)
	case *syntax.UnaryTest:
		// [[ -v NAME ]] evaluates NAME's subscript.
		if n.Op == syntax.TsVarSet {
			if w, ok := n.X.(*syntax.Word); ok {
				return c.nameOperand("[[ -v", c.evalWord(w))
			}
		}
	case *syntax.BinaryTest:
		if arithTest(n.Op) {
			return c.arithExprs(n.X, n.Y)
		}
	case *syntax.ParamExp:
		// A substring's offset and length and an array's subscript are
		// arithmetic.
		if r := c.arithExprs(paramArith(n)...); r != nil {
			return r
		}
		if n.Excl && n.Param != nil && n.Names == 0 && c.p.Has(RuleDynamic) {
			// ${!x} reads the variable x names; a subscript in that name
			// is arithmetic, which runs the commands it holds.
			if v, ok := c.vars[n.Param.Value]; ok && strings.Contains(v, "[") || c.tainted[n.Param.Value] {
				return refuse(RuleDynamic, "${!%s} reads the variable named by $%s's value, whose subscript (a[$(cmd)]) bash evaluates, running commands; name the variable directly", n.Param.Value, n.Param.Value)
			}
		}
		if promptExpansion(n) && c.p.Has(RuleDynamic) {
			if v, ok := c.paramValue(&syntax.ParamExp{Param: n.Param}); !ok || codeInArithmetic(v) || strings.Contains(v, "$") {
				return refuse(RuleDynamic, "${%s@P} expands the value as a prompt, running the command substitutions it holds; print the value without @P", n.Param.Value)
			}
		}
	case *syntax.CallExpr:
		if len(n.Args) > 0 && slices.ContainsFunc(n.Assigns, func(a *syntax.Assign) bool { return a.Name != nil && a.Name.Value == "IFS" }) {
			// IFS=… cmd sets IFS for that command only (what the
			// command itself does to IFS, unset IFS, stays).
			ifs, unknown := c.ifs, c.ifsUnknown
			defer func() { c.ifs, c.ifsUnknown = ifs, unknown }()
		}
		for _, a := range n.Assigns {
			if r := c.assign(a); r != nil {
				return r
			}
		}
		if len(n.Args) > 0 {
			c.curCall = n
			ws := c.evalWords(n.Args)
			if r := c.runtimeBuiltins(ws); r != nil {
				return r
			}
			if r := c.argv(ws); r != nil {
				return r
			}
			c.builtinEffects(ws)
		}
	case *syntax.ForClause:
		if wi, ok := n.Loop.(*syntax.WordIter); ok && wi.Name != nil {
			c.forget(wi.Name.Value)
			for _, w := range wi.Items {
				if !c.evalWord(w).static {
					c.taint(wi.Name.Value)
				}
			}
		}
	}
	return nil
}

// builtinEffects records what a builtin that passed the checks changes
// in the shell: its directory, variables it reads in.
func (c *checker) builtinEffects(ws []word) {
	for len(ws) > 1 && ws[0].static && (ws[0].text == "builtin" || ws[0].text == "command") {
		ws = ws[1:]
	}
	if !ws[0].static {
		return
	}
	switch ws[0].text {
	case "cd", "pushd", "popd":
		c.chdir(ws[0].text, ws[1:])
	case "unset":
		for _, a := range ws[1:] {
			if a.text == "IFS" { // bash splits as if IFS were the default
				c.ifs, c.ifsUnknown = " \t\n", false
			}
		}
	case "read", "mapfile", "readarray", "getopts":
		for _, a := range ws[1:] {
			c.forget(a.text)
			if isName(a.text) {
				c.taint(a.text)
			}
		}
	case "printf":
		for i, a := range ws[1:] {
			if a.text == "-v" && i+2 < len(ws) {
				c.forget(ws[i+2].text)
			}
		}
	}
}

// runtimeBuiltins judges builtins that evaluate text at run time: let
// evaluates arithmetic; mapfile -C runs a callback with each line read;
// a variable's name with a subscript evaluates it (names).
func (c *checker) runtimeBuiltins(ws []word) *Refusal {
	ws = unprefixed(ws)
	if !ws[0].static {
		return nil
	}
	if r := c.names(ws); r != nil {
		return r
	}
	switch ws[0].text {
	case "hash":
		for _, a := range ws[1:] {
			if len(a.text) > 1 && a.text[0] == '-' && a.text[1] != '-' && strings.Contains(a.text, "p") && c.p.Has(RuleDynamic) {
				return refuse(RuleDynamic, "hash -p makes a command name run another program, which the check does not follow; run the program by its own name or path")
			}
		}
	case "let":
		var names []string
		for _, a := range ws[1:] {
			names = append(names, nameTokens(a.text)...)
		}
		return c.arithmetic(names)
	case "compgen", "complete":
		// -C runs a command to list the completions.
		if cb, ok := optionWord(ws[1:], "-C"); ok {
			return c.scriptWord(ws[0].text+" -C", cb)
		}
	case "mapfile", "readarray":
		// -C evaluates a callback with each line's index and text
		// after it: judged as text, and as a command given data.
		if cb, ok := optionWord(ws[1:], "-C"); ok {
			if r := c.scriptWord(ws[0].text+" -C", cb); r != nil {
				return r
			}
			var call []word
			for _, f := range strings.Fields(cb.text) {
				call = append(call, word{text: f, static: cb.static, node: cb.node})
			}
			if len(call) == 0 {
				return nil
			}
			call = append(call, word{text: dynamicMark, node: cb.node}, word{text: dynamicMark, node: cb.node})
			return c.argv(call)
		}
	}
	return nil
}

// optionWord finds the value of a builtin's option opt (-C) as its
// getopt reads it (optionValue: "-C val", "-Cval", "-tC val"), up to
// "--" or the first word that is not an option.
func optionWord(args []word, opt string) (word, bool) {
	for i, a := range args {
		if a.text == "--" || len(a.text) < 2 || a.text[0] != '-' {
			break
		}
		value, next := optionValue(a.text, []string{opt})
		switch {
		case next && i+1 < len(args):
			return args[i+1], true
		case value != "":
			a.text = value
			return a, true
		}
	}
	return word{}, false
}

// setVar records a variable's static value.
func (c *checker) setVar(name, value string) {
	if c.vars == nil {
		c.vars = map[string]string{}
	}
	c.vars[name] = value
}

// taint marks a variable that holds data the command reads at run time.
func (c *checker) taint(name string) {
	if c.tainted == nil {
		c.tainted = map[string]bool{}
	}
	c.tainted[name] = true
}

// assignArray records NAME=(elements…) when every element is a static
// word without an index, so that ${NAME[i]} is judged by what it holds.
func (c *checker) assignArray(name string, arr *syntax.ArrayExpr) {
	delete(c.arrays, name) // what was known is replaced
	if c.casedVars[name] {
		return // -l, -u, -c change every value assigned
	}
	var list []string
	for _, e := range arr.Elems {
		if e.Index != nil || e.Value == nil {
			return
		}
		w := c.evalWord(e.Value)
		if !w.static || w.split || w.glob {
			return
		}
		list = append(list, w.text)
	}
	if c.arrays == nil {
		c.arrays = map[string][]string{}
	}
	c.arrays[name] = list
}

// forget drops what the checker knew of a variable the shell sets at
// run time.
func (c *checker) forget(name string) {
	delete(c.arrays, name)
	delete(c.vars, name)
	delete(c.tainted, name)
	if name == "IFS" { // set by read, printf -v, …
		c.ifs, c.ifsUnknown = "", true
	}
	if name == "HOME" {
		c.homeUnknown = true
	}
}

// assign records NAME=value when the value is known, so that a later $NAME
// is judged by what it holds.
func (c *checker) assign(a *syntax.Assign) *Refusal {
	if a.Name == nil {
		return nil
	}
	name := a.Name.Value
	if r := c.arithExprs(assignArith(a)...); r != nil {
		return r
	}
	if a.Naked || a.Array != nil || a.Index != nil || a.Append || a.Value == nil {
		c.forget(name)
		if a.Array != nil && !a.Append && a.Index == nil {
			c.assignArray(name, a.Array)
		}
		if a.Value == nil && !a.Naked && a.Array == nil {
			c.setVar(name, "")
		}
		if a.Naked {
			return nil
		}
		w := word{static: true} // NAME= sets the empty string
		if a.Value != nil && a.Index == nil {
			w = c.evalValue(a.Value)
		}
		return c.assignHook(name, w, a.Index == nil && a.Array == nil)
	}
	w := c.evalValue(a.Value)
	if c.casedVars[name] {
		w.static = false
	}
	if c.intVars[name] && (w.static && codeInArithmetic(w.text) || !w.static && taintedSubst(a.Value)) && c.p.Has(RuleDynamic) {
		return refuse(RuleDynamic, "%s is declared -i, so the value assigned is evaluated as arithmetic, and an array subscript in it (a[$(cmd)]) runs commands; assign a number", name)
	}
	if c.intVars[name] && w.static {
		// The value is an expression: the variables it names are
		// evaluated in turn (declare -i z; z=y).
		if r := c.arithmetic(nameTokens(w.text)); r != nil {
			return r
		}
	}
	if w.static {
		c.setVar(name, w.text)
		delete(c.arrays, name)
		delete(c.tainted, name)
	} else {
		c.forget(name)
		if w.subst && taintedSubst(a.Value) {
			c.taint(name)
		}
	}
	return c.assignHook(name, w, true)
}

// forkBomb reports a function that invokes itself in the background or in
// a pipeline, the shape of :(){ :|:& };:.
func forkBomb(fn *syntax.FuncDecl) bool {
	name := fn.Name.Value
	self, spawn := false, false
	syntax.Walk(fn.Body, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.CallExpr:
			if len(n.Args) > 0 && n.Args[0].Lit() == name {
				self = true
			}
		case *syntax.Stmt:
			if n.Background {
				spawn = true
			}
		case *syntax.BinaryCmd:
			if n.Op == syntax.Pipe || n.Op == syntax.PipeAll {
				spawn = true
			}
		}
		return true
	})
	return self && spawn
}

// argv checks one simple command: its name, what it wraps, and its
// arguments.
func (c *checker) argv(ws []word) *Refusal {
	if len(ws) == 0 {
		return nil
	}
	if c.called != nil {
		c.called(c.depth, ws)
	}
	name := ws[0]
	if name.static && !name.glob && strings.ContainsAny(strings.TrimSpace(name.text), " \t\n") {
		// NAME='sudo -i'; $NAME splits into a command and arguments.
		var split []word
		for _, f := range strings.Fields(name.text) {
			split = append(split, word{text: f, static: true, node: name.node})
		}
		ws = append(split, ws[1:]...)
		if len(ws) == 0 {
			return nil
		}
		name = ws[0]
	}
	if c.p.Has(RuleUnicode) {
		for _, r := range name.text {
			if r > unicode.MaxASCII {
				return refuse(RuleUnicode, "the command name %q contains the non-ASCII character %q; look-alike letters are a known way to disguise commands, type the name in plain ASCII", name.text, r)
			}
		}
	}
	if !name.static || name.glob {
		if !c.p.Has(RuleDynamic) {
			return nil
		}
		if name.subst && c.p.Has(RuleFetchRun) && wordFetches(name.node) {
			return refuse(RuleFetchRun, "the command name comes from downloaded data; download to a file, inspect it, and run known commands instead")
		}
		return refuse(RuleDynamic, "the command name %q is decided only when the shell runs (a variable, substitution or glob), so it cannot be checked; write the command name literally", name.text)
	}
	if v := c.readsMulti(name.node); v != "" && c.p.Has(RuleDynamic) {
		return refuse(RuleDynamic, "the command name comes from $%s, which the command gives more than one value (a loop, a function, a subshell, a branch or unset decides which one it holds when it runs), so it cannot be checked; write the command name literally", v)
	}
	base := name.text
	if strings.Contains(base, "/") {
		base = path.Base(path.Clean(base))
		if r := c.writtenScript(name.text, name.text); r != nil {
			return r
		}
		// A copy this command made of a program runs as that program.
		if prog, ok := c.copiedProgram(name.text); ok {
			if prog == "" {
				if c.p.Has(RuleDynamic) {
					return refuse(RuleDynamic, "%s is a copy of a program named only at run time, so what it is cannot be checked; run the program by its own name", name.text)
				}
			} else {
				base = prog
			}
		}
	}
	args := ws[1:]
	if c.seen != nil && !c.funcs[base] {
		c.seen(base)
	}
	if declBuiltins[base] && !c.funcs[base] && !strings.Contains(name.text, "/") {
		return c.declCall(base, args)
	}
	if r := c.lists(base); r != nil {
		return r
	}
	if r := c.commandRules(name.text, base, args); r != nil {
		return r
	}
	// The wrapped command first: env sudo cat /etc/shadow is about sudo.
	if r := c.wrapped(base, args); r != nil {
		return r
	}
	if r := c.toolHooks(base, args); r != nil {
		return r
	}
	if r := c.pathArgs(base, args); r != nil {
		return r
	}
	if r := c.systemPackages(base, args); r != nil {
		return r
	}
	if fetches(base, args) {
		c.fetched = true
	}
	c.recordCopy(base, args)
	return nil
}

func (c *checker) lists(base string) *Refusal {
	if c.p.Has(RuleDenyList) && c.p.deny[base] {
		return refuse(RuleDenyList, "profile %s does not allow %s", c.p.Name, base)
	}
	if c.p.Has(RuleAllowList) && len(c.p.allow) > 0 && !c.p.allow[base] && !c.funcs[base] && !shellBuiltins[base] {
		return refuse(RuleAllowList, "profile %s allows only these commands: %s", c.p.Name, strings.Join(c.p.AllowCommands, ", "))
	}
	return nil
}

// shellBuiltins never need an allow-list entry.
var shellBuiltins = set("cd", "echo", "printf", "test", "[", "true", "false",
	"read", "set", "unset", "export", "shift", "return", "exit", "local",
	"declare", "pwd", "wait", "type", "command", "hash", "getopts", ":",
	"break", "continue", "let", "printenv", "trap", "umask")
