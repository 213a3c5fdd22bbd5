// Package testenv holds the helpers every AMF-OS test uses to ask for what
// it needs from the machine (root, a binary, a kernel feature). On a
// developer laptop a missing need skips the test; in CI, where
// AMF_REQUIRE_ALL=1, it fails it, so nothing is silently left untested.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireAll reports whether every skip must become a failure.
func RequireAll() bool { return os.Getenv("AMF_REQUIRE_ALL") == "1" }

// Skip skips the test, or fails it when AMF_REQUIRE_ALL=1.
func Skip(t testing.TB, why string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("required but unavailable (AMF_REQUIRE_ALL=1): %s", why)
	}
	t.Skip(why)
}

// NeedRoot skips (or fails) the test unless it runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root")
	}
}

// NeedBinary returns the path of name on PATH, or skips (or fails).
func NeedBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, "needs "+name+" on PATH (Debian: apt-get install the package that ships it)")
	}
	return p
}

// Short skips long tests under -short; never a failure, since CI does not
// pass -short.
func Short(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("long test; run without -short")
	}
}
