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
	// A real account JWT and updates file, from a kernel host's commands.
	authDir := filepath.Join(t.TempDir(), "auth")
	updates := filepath.Join(t.TempDir(), "leaf-updates.creds")
	if p := startAmf(t, nil, "auth", "leaf-updates", "--auth-dir", authDir, "-o", updates); p.wait(30*time.Second) != 0 {
		t.Fatalf("amf auth leaf-updates:\n%s", p.Output())
	}
	accJWT := filepath.Join(authDir, "account.jwt")
	otherDir := filepath.Join(t.TempDir(), "other")
	otherUpdates := filepath.Join(t.TempDir(), "other-updates.creds")
	if p := startAmf(t, nil, "auth", "leaf-updates", "--auth-dir", otherDir, "-o", otherUpdates); p.wait(30*time.Second) != 0 {
		t.Fatalf("amf auth leaf-updates:\n%s", p.Output())
	}
	remote := "nats-leaf://127.0.0.1:7422"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"leaf"}, "--remote"},
		{[]string{"leaf", "--remote", "tls://127.0.0.1:7422"}, "amf auth creds worker"},
		{[]string{"leaf", "--remote", "tls://127.0.0.1:7422", "--creds", creds}, "--account-jwt"},
		{[]string{"leaf", "--remote", "http://127.0.0.1:7422", "--creds", creds, "--account-jwt", creds}, "not an account JWT"},
		{[]string{"leaf", "--remote", remote, "--creds", creds, "--account-jwt", accJWT}, "amf auth leaf-updates"},
		{[]string{"leaf", "--remote", remote, "--creds", creds, "--account-jwt", accJWT, "--updates", creds}, "is not from `amf auth leaf-updates`"},
		{[]string{"leaf", "--remote", remote, "--creds", creds, "--account-jwt", accJWT, "--updates", otherUpdates}, "another installation"},
	} {
		p := startAmf(t, nil, c.args...)
		if code := p.wait(30 * time.Second); code == 0 || !strings.Contains(p.Output(), c.want) {
			t.Errorf("amf %v: exit %d, want an error naming %q:\n%s", c.args, code, c.want, p.Output())
		}
	}
}
