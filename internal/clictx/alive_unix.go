//go:build unix

package clictx

import (
	"errors"
	"os"
	"syscall"
)

// signalZero asks whether p exists; EPERM means it does, as another
// user's.
func signalZero(p *os.Process) error {
	err := p.Signal(syscall.Signal(0))
	if errors.Is(err, syscall.EPERM) {
		return nil
	}
	return err
}
