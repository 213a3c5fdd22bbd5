package sandbox

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// Confined commands re-execute this test binary as their init.
	MaybeInit()
	os.Exit(m.Run())
}
