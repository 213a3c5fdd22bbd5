package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
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
	if p := startAmf(t, nil, "auth", "leaf-updates", "--init", "--auth-dir", authDir, "-o", updates); p.wait(30*time.Second) != 0 {
		t.Fatalf("amf auth leaf-updates:\n%s", p.Output())
	}
	accJWT := filepath.Join(authDir, "account.jwt")
	otherDir := filepath.Join(t.TempDir(), "other")
	otherUpdates := filepath.Join(t.TempDir(), "other-updates.creds")
	if p := startAmf(t, nil, "auth", "leaf-updates", "--init", "--auth-dir", otherDir, "-o", otherUpdates); p.wait(30*time.Second) != 0 {
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

// What an operator types: a credential revoked with `amf auth revoke` on
// a kernel host is refused by a site's running `amf leaf`.
func TestLeafRefusesACredentialRevokedWithAmfAuth(t *testing.T) {
	natsBin := testenv.NeedBinary(t, "nats")
	env, base, natsAddr := upEnv(t, fakeModel(t))
	leafListen := testenv.FreeAddr(t)
	env = append(env, "AMF_NATS_LEAF_LISTEN="+leafListen)
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)
	f := &authFixture{t: t, env: env, natsBin: natsBin, natsAddr: natsAddr, creds: map[string]string{}}
	dir := t.TempDir()
	site, stolen, updates := filepath.Join(dir, "site.creds"), filepath.Join(dir, "stolen.creds"), filepath.Join(dir, "leaf-updates.creds")
	f.amf("auth", "creds", "worker", "--name", "leaf-site", "-o", site)
	f.amf("auth", "creds", "client", "--name", "leaf-stolen", "-o", stolen)
	f.amf("auth", "leaf-updates", "-o", updates)
	var state string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "AMF_STATE_DIR="); ok {
			state = v
		}
	}
	acc, err := os.ReadFile(filepath.Join(state, "auth", "account.jwt"))
	if err != nil {
		t.Fatal(err)
	}
	accFile := filepath.Join(dir, "account.jwt")
	if err := os.WriteFile(accFile, acc, 0o644); err != nil {
		t.Fatal(err)
	}
	siteAddr := testenv.FreeAddr(t)
	leaf := startAmf(t, nil, "leaf", "--remote", "nats-leaf://"+leafListen, "--creds", site,
		"--account-jwt", accFile, "--updates", updates, "--listen", siteAddr)
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(leaf.Output(), "leaf linked") {
		if time.Now().After(deadline) {
			t.Fatalf("the leaf never linked:\n%s", leaf.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	pub := func() (string, error) {
		out, err := exec.Command(natsBin, "--server", "nats://"+siteAddr, "--creds", stolen, "--timeout", "2s", "pub", ownSubject(t, stolen, "submit"), "{}").CombinedOutput()
		return string(out), err
	}
	if out, err := pub(); err != nil {
		t.Fatalf("the credential before its revocation, at the site: %v\n%s", err, out)
	}
	if out := f.amf("auth", "revoke", "leaf-stolen"); !strings.Contains(out, "applied") {
		t.Fatalf("revoke did not reach the running kernel:\n%s", out)
	}
	for {
		out, err := pub()
		if err != nil && strings.Contains(strings.ToLower(out), "authorization violation") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the site's leaf still admits the revoked credential: %v\n%s\nleaf:\n%s", err, out, leaf.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
