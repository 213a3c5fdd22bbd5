package testenv

import (
	"testing"
	"time"
)

func TestEventuallyWaitsForTheCondition(t *testing.T) {
	t.Parallel()
	start := time.Now()
	EventuallyWithin(t, 5*time.Second, "a tenth of a second", func() bool { return time.Since(start) > 100*time.Millisecond })
	if time.Since(start) < 100*time.Millisecond {
		t.Fatal("Eventually returned before its condition held")
	}
}

// failRecorder records a failure instead of ending the test.
type failRecorder struct {
	testing.TB
	failed string
}

func (f *failRecorder) Helper() {}
func (f *failRecorder) Fatalf(format string, args ...any) {
	f.failed = format
	panic(f)
}

func TestEventuallyFailsNamingWhatItWaitedFor(t *testing.T) {
	t.Parallel()
	r := &failRecorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != any(r) {
				panic(p)
			}
		}()
		EventuallyWithin(r, 20*time.Millisecond, "never", func() bool { return false })
	}()
	if r.failed == "" {
		t.Fatal("Eventually did not fail a condition that never held")
	}
}
