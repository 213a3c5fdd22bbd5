package bus

import (
	"fmt"
	"strings"
)

// checkCommandText refuses a command a shell cannot be given: the kernel
// ends every execve argument at a NUL byte, so the command would fail in
// the sandbox after it was accepted.
func checkCommandText(cmd string) error {
	if i := strings.IndexByte(cmd, 0); i >= 0 {
		return fmt.Errorf("%w: \"command\" holds a NUL byte at offset %d; a shell command cannot carry one (the kernel ends arguments at it): remove it, or produce the byte with printf '\\0'", ErrInvalidTask, i)
	}
	return nil
}
