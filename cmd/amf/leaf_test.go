package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An incomplete `amf leaf` says what is missing and how to get it.
func TestLeafSaysWhatItLacks(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "w.creds")
	if err := os.WriteFile(creds, []byte("not yet"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"leaf"}, "--remote"},
		{[]string{"leaf", "--remote", "tls://127.0.0.1:7422"}, "amf auth creds worker"},
		{[]string{"leaf", "--remote", "tls://127.0.0.1:7422", "--creds", creds}, "--account-jwt"},
		{[]string{"leaf", "--remote", "http://127.0.0.1:7422", "--creds", creds, "--account-jwt", creds}, "not an account JWT"},
	} {
		p := startAmf(t, nil, c.args...)
		if code := p.wait(30 * time.Second); code == 0 || !strings.Contains(p.Output(), c.want) {
			t.Errorf("amf %v: exit %d, want an error naming %q:\n%s", c.args, code, c.want, p.Output())
		}
	}
}
