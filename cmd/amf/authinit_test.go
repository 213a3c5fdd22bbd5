package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuthCommandsDoNotMakeKeysByMistake is an operator issuing a
// credential without pointing at the kernel's state dir: refused, naming
// the dir looked in, and nothing made there; `amf auth init` (or --init)
// is how keys are made.
func TestAuthCommandsDoNotMakeKeysByMistake(t *testing.T) {
	state := t.TempDir()
	authDir := filepath.Join(state, "auth")
	env := []string{"AMF_STATE_DIR=" + state}
	out := filepath.Join(t.TempDir(), "w.creds")
	for _, args := range [][]string{
		{"auth", "creds", "worker", "-o", out},
		{"auth", "leaf-updates", "-o", out},
		{"auth", "list"},
		{"auth", "revoke", "someone"},
	} {
		p := startAmf(t, env, args...)
		if code := p.wait(30 * time.Second); code == 0 || !strings.Contains(p.Output(), authDir) || !strings.Contains(p.Output(), "amf auth init") {
			t.Errorf("amf %v on a state dir without keys: exit %d\n%s", args, code, p.Output())
		}
	}
	if _, err := os.Stat(filepath.Join(authDir, "operator.nk")); err == nil {
		t.Fatal("a refused command made keys")
	}
	if fileExists(out) {
		t.Fatal("a refused command wrote a credential")
	}

	if p := startAmf(t, env, "auth", "init"); p.wait(30*time.Second) != 0 {
		t.Fatalf("amf auth init: %s", p.Output())
	}
	if p := startAmf(t, env, "auth", "creds", "worker", "-o", out); p.wait(30*time.Second) != 0 || !fileExists(out) {
		t.Fatalf("amf auth creds after amf auth init: %s", p.Output())
	}
	other := filepath.Join(t.TempDir(), "auth")
	if p := startAmf(t, nil, "auth", "creds", "client", "--init", "--auth-dir", other, "-o", out); p.wait(30*time.Second) != 0 {
		t.Fatalf("amf auth creds --init: %s", p.Output())
	}
}
