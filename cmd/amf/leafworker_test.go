package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

// TestWorkerBehindAPlainLeafRunsTasks: a plain leaf is supported. A site
// links to an `amf kernel` with `amf leaf` over nats-leaf:// (no TLS) on
// loopback, and a worker there, on the site's worker credential, opens
// the hot cache's buckets, runs a task submitted at the kernel, and
// follows the memory stream through a consumer the kernel makes for it
// (its credential may make none itself).
func TestWorkerBehindAPlainLeafRunsTasks(t *testing.T) {
	env, base, natsAddr := upEnv(t, fakeModel(t))
	leafListen := testenv.FreeAddr(t)
	env = append(env, "AMF_NATS_LEAF_LISTEN="+leafListen)
	kern := startAmf(t, env, "kernel")
	waitNATS(t, natsAddr, kern)
	_ = base
	f := &authFixture{t: t, env: env, natsAddr: natsAddr, creds: map[string]string{}}
	dir := t.TempDir()
	site, updates := filepath.Join(dir, "site.creds"), filepath.Join(dir, "leaf-updates.creds")
	f.amf("auth", "creds", "worker", "--pool", "site", "--name", "leaf-site", "-o", site)
	f.amf("auth", "leaf-updates", "-o", updates)
	acc, err := os.ReadFile(filepath.Join(envValue(env, "AMF_STATE_DIR"), "auth", "account.jwt"))
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
	w := startAmf(t, []string{"AMF_NATS_URL=nats://" + siteAddr, "AMF_NATS_CREDS=" + site, "AMF_STATE_DIR=" + t.TempDir(),
		"OLLAMA_HOST=http://127.0.0.1:1"}, "worker", "--pool", "site", "--id", "site-w")
	if out := f.amf("run", "--pool", "site", "--cmd", "echo from the site"); !strings.Contains(out, "from the site") || !strings.Contains(out, "site-w") {
		t.Fatalf("task on pool site:\n%s\nworker:\n%s", out, w.Output())
	}
	// Logged once the kernel made the consumer ("…failed; retrying" when not).
	for !strings.Contains(w.Output(), "memory: following the stream\"") {
		if time.Now().After(deadline) {
			t.Fatalf("the worker never followed the memory stream:\n%s", w.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
