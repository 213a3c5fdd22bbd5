package sandbox

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// Confined commands re-execute this test binary as their init.
	MaybeInit()
	code := m.Run()
	for _, f := range afterTests {
		f()
	}
	os.Exit(code)
}

// afterTests release what tests share across the package (a runner
// with booted guests).
var afterTests []func()
