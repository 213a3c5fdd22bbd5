package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/clictx"
	"github.com/amf-os/amf/internal/testenv"
)

// TestContextURLIsDialableAndVerifiable: a kernel listening on every
// address gets a context URL a client on its host can dial and, over
// TLS, verify against the certificate's names.
func TestContextURLIsDialableAndVerifiable(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"nats://0.0.0.0:4222", "nats://127.0.0.1:4222"},
		{"nats://[::]:4222", "nats://127.0.0.1:4222"},
		{"nats://10.0.0.7:4222", "nats://10.0.0.7:4222"},
	} {
		if got := dialableURL(tc.raw); got != tc.want {
			t.Errorf("dialableURL(%s) = %s, want %s", tc.raw, got, tc.want)
		}
	}
	remote := makeCerts(t, "10.0.0.5")
	both := makeCerts(t, "10.0.0.5", "127.0.0.1")
	for _, tc := range []struct{ raw, cert, want string }{
		{"tls://0.0.0.0:4222", remote.Cert, "tls://10.0.0.5:4222"},
		{"tls://0.0.0.0:4222", both.Cert, "tls://127.0.0.1:4222"},
		{"tls://10.0.0.7:4222", remote.Cert, "tls://10.0.0.7:4222"},
		{"tls://0.0.0.0:4222", filepath.Join(t.TempDir(), "missing.pem"), "tls://127.0.0.1:4222"},
	} {
		if got := tlsDialURL(tc.raw, tc.cert); got != tc.want {
			t.Errorf("tlsDialURL(%s, %s) = %s, want %s", tc.raw, filepath.Base(tc.cert), got, tc.want)
		}
	}
}

// TestClientFollowsATLSKernelsContext: a kernel serving TLS writes a
// context with its own certificate as the trust anchor, so the CLI on its
// host reaches it with no --tls-ca, no URL and no credential named.
func TestClientFollowsATLSKernelsContext(t *testing.T) {
	env, state := contextEnv(t)
	addr := testenv.FreeAddr(t)
	certs := makeCerts(t, "127.0.0.1")
	k := startAmf(t, env, "kernel", "--listen", addr, "--tls-cert", certs.Cert, "--tls-key", certs.Key)
	var kc clictx.Context
	for i := 0; ; i++ {
		var err error
		if kc, err = clictx.Read(clictx.StatePath(state)); err == nil {
			break
		}
		if i > 600 {
			t.Fatalf("no context after 60s: %v\n%s", err, k.Output())
		}
		sleepTick()
	}
	if kc.URL != "tls://"+addr || kc.CA != certs.Cert {
		t.Fatalf("context %+v, want url tls://%s pinned to %s", kc, addr, certs.Cert)
	}
	if out := amfRun(t, env, 0, "pools", "-o", "json"); !strings.Contains(out, `"name": "default"`) {
		t.Fatalf("amf pools over TLS through the context:\n%s", out)
	}
	// A client that names the URL but trusts nothing else is refused
	// by the certificate check, and says where to look.
	if out := amfRun(t, append(env, "AMF_STATE_DIR="+t.TempDir()), 1, "pools", "--nats", "tls://"+addr); !strings.Contains(out, "certificate") {
		t.Fatalf("an unverified TLS kernel:\n%s", out)
	}
}

func sleepTick() { time.Sleep(100 * time.Millisecond) }
