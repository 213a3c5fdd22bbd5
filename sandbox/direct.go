//go:build unix

package sandbox

import (
	"path/filepath"

	"github.com/amf-os/amf/sandbox/policy"
)

// directArgv is the words of a command bash would only execute
// (policy.Direct), which the runners execute without the shell; nil
// where the shell is needed, or is not bash, whose reading Direct
// follows.
func directArgv(shell, command string, env []string) []string {
	if filepath.Base(shell) != "bash" {
		return nil
	}
	argv, _ := policy.Direct(command, env)
	return argv
}
