package workers

import (
	"path"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// shellBuiltins are not programs a host must have.
var shellBuiltins = setOf("cd", "echo", "printf", "test", "[", "true", "false", "export",
	"set", "unset", "read", "exit", "return", "shift", "local", "eval", "exec", "command",
	"type", "wait", "trap", "pwd", ":", ".", "source", "let", "declare", "alias", "ulimit", "umask")

// programs lists the programs a command runs, in order of first use, so
// a learned command says what a host needs to run it again.
func programs(cmd string) []string {
	f, err := syntax.NewParser().Parse(strings.NewReader(cmd), "")
	if err != nil {
		return nil
	}
	var out []string
	syntax.Walk(f, func(n syntax.Node) bool {
		call, ok := n.(*syntax.CallExpr)
		if !ok || len(call.Args) == 0 || len(out) >= 16 {
			return true
		}
		name := call.Args[0].Lit()
		if name == "" || shellBuiltins[name] {
			return true
		}
		name = path.Base(name)
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
		return true
	})
	return out
}
