//go:build linux

package microvm

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// The guests' init is this test binary.
	MaybeGuest()
	os.Exit(m.Run())
}
