package testenv

import (
	"testing"
	"time"
)

// DefaultWait bounds Eventually: long enough for a loaded CI machine, and
// only ever reached by a test that is failing.
const DefaultWait = 20 * time.Second

// Eventually polls cond until it holds, failing the test after
// DefaultWait with what it waited for. Tests wait for a state this way,
// never with a bare sleep.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, DefaultWait, what, cond)
}

// EventuallyWithin is Eventually with its own bound.
func EventuallyWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for pause := time.Millisecond; !cond(); pause = min(2*pause, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(pause)
	}
}
