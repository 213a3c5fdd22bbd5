package sandbox

import (
	"errors"
	"strings"
	"testing"
)

func TestProfileBackend(t *testing.T) {
	p, err := ParsePolicy([]byte("profiles:\n  strict:\n    rules: [syntax]\n  vm:\n    backend: microvm\n    rules: [syntax]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Backends(), ","); got != "microvm" {
		t.Errorf("backends %q, want microvm", got)
	}
	_, err = ParsePolicy([]byte("profiles:\n  strict:\n    backend: firecracker\n    rules: [syntax]\n"))
	if !errors.Is(err, ErrBadProfiles) || !strings.Contains(err.Error(), "unknown backend") {
		t.Errorf("unknown backend: %v, want ErrBadProfiles naming it", err)
	}
}
