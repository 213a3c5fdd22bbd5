//go:build !unix

package statelock

// Lock is a no-op where flock is not supported.
type Lock struct{}

// Acquire does not lock: this platform has no flock.
func Acquire(dir string) (*Lock, error) { return &Lock{}, nil }

// Release does nothing.
func (l *Lock) Release() error { return nil }
