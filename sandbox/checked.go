package sandbox

import (
	"crypto/sha256"
	"sync"
)

// A command is validated once on its way to the sandbox. A worker checks
// it first (to report a refusal without starting anything and to time
// the check); Run then admits it without checking again when this
// runner's own check passed that very command, profile and env moments
// before. Anything else (a caller that did not check, another env) is
// checked in Run.

// maxChecked bounds the verdicts kept; past it they are dropped and the
// commands checked again in Run.
const maxChecked = 256

// checkedKey names one check: the profile, the workspace (which sets
// the scope the command was judged in), the command and its env.
type checkedKey [sha256.Size]byte

func keyOf(command, profile, workspace string, env []string) checkedKey {
	h := sha256.New()
	h.Write([]byte(profile))
	h.Write([]byte{0})
	h.Write([]byte(workspace))
	h.Write([]byte{0})
	h.Write([]byte(command))
	for _, kv := range env {
		h.Write([]byte{0})
		h.Write([]byte(kv))
	}
	var k checkedKey
	h.Sum(k[:0])
	return k
}

// checkedCommands are the verdicts of this runner's own passing checks
// not yet used by Run.
type checkedCommands struct {
	mu sync.Mutex
	m  map[checkedKey]int
}

// add records a passing check.
func (c *checkedCommands) add(k checkedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxChecked {
		c.m = map[checkedKey]int{}
	}
	c.m[k]++
}

// take uses up a passing check, reporting whether there was one.
func (c *checkedCommands) take(k checkedKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[k] == 0 {
		return false
	}
	if c.m[k]--; c.m[k] == 0 {
		delete(c.m, k)
	}
	return true
}

// pending counts the passing checks not yet used.
func (c *checkedCommands) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.m {
		n += v
	}
	return n
}
