package kernel_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/kerneltest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A kernel reachable beyond loopback without TLS says so at start.
func TestExposedWithoutTLSSaysSoLoudly(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	srv := &kernel.Server{StateDir: t.TempDir(), Listen: "0.0.0.0:-1", Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if !strings.Contains(logs.String(), "WITHOUT TLS") {
		t.Fatalf("no warning:\n%s", logs.String())
	}
	// Loopback is quiet.
	var quiet syncBuffer
	lo := &kernel.Server{StateDir: t.TempDir(), Listen: "127.0.0.1:-1", Logger: slog.New(slog.NewTextHandler(&quiet, nil))}
	if err := lo.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer lo.Shutdown()
	if strings.Contains(quiet.String(), "WITHOUT TLS") {
		t.Fatalf("warned on loopback:\n%s", quiet.String())
	}
}

// A configuration file that would let clients in on its own terms is
// refused: the kernel never runs without its authentication.
func TestConfigWithItsOwnAuthIsRefused(t *testing.T) {
	t.Parallel()
	for name, conf := range map[string]string{
		"no_auth_user": "accounts { A: { jetstream: enabled, users: [ { user: a, password: b } ] } }\nno_auth_user: a\n",
		"users":        "authorization { users: [ { user: a, password: b } ] }\n",
		"token":        "authorization { token: s3cret }\n",
	} {
		path := filepath.Join(t.TempDir(), "kernel.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		srv := &kernel.Server{StateDir: t.TempDir(), Listen: "127.0.0.1:-1", ConfigFile: path, Logger: kerneltest.Logger(t)}
		err := srv.Start(context.Background())
		if err == nil {
			srv.Shutdown()
			t.Fatalf("%s: started", name)
		}
		if !errors.Is(err, kernel.ErrConfig) || !strings.Contains(err.Error(), "amf auth creds") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A credential signed by another installation's keys is refused.
func TestForeignCredentialIsRefused(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	other, err := kernel.OpenAuthority(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	creds, _, err := other.Issue(kernel.UserSpec{Role: kernel.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "foreign.creds")
	if err := os.WriteFile(path, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	if nc, err := nats.Connect(k.ClientURL(), nats.UserCredentials(path)); err == nil {
		nc.Close()
		t.Fatal("a foreign credential connected")
	}
	// And the keys survive a restart: the same credential still works.
	dir := t.TempDir()
	k1 := kerneltest.StartIn(t, dir)
	admin := k1.AdminCreds
	k1.Stop()
	k2 := kerneltest.StartIn(t, dir)
	k2.ConnectAs(admin)
}
