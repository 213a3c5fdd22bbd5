// Package kerneltest starts a real embedded kernel for tests: JetStream on
// a random port, a temporary store, the bus provisioned, and everything
// stopped by t.Cleanup.
package kerneltest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/internal/atomicfile"
	"github.com/amf-os/amf/kernel"
)

// Kernel is a running test kernel with one client connection.
type Kernel struct {
	*kernel.Server
	// NC and JS connect with an admin credential (AdminCreds, a file).
	NC         *nats.Conn
	JS         jetstream.JetStream
	AdminCreds string

	t testing.TB
}

// Start runs a kernel listening on a random 127.0.0.1 port with its store
// in a temporary directory.
func Start(t testing.TB) *Kernel {
	t.Helper()
	return StartIn(t, t.TempDir())
}

// StartIn runs a kernel whose state lives in dir, so a test can stop it
// and start another on the same store.
func StartIn(t testing.TB, dir string) *Kernel {
	t.Helper()
	return StartWith(t, kernel.Server{StateDir: dir})
}

// StartWith runs a kernel configured as cfg (de-duplication windows, a
// state dir and address to restart on), listening on a random 127.0.0.1
// port with its store in a temporary directory unless cfg names them.
func StartWith(t testing.TB, cfg kernel.Server) *Kernel {
	t.Helper()
	srv := &cfg
	if srv.Listen == "" {
		srv.Listen = "127.0.0.1:-1"
	}
	if srv.StateDir == "" {
		srv.StateDir = t.TempDir()
	}
	// Tests serve the task API themselves, each with the store and
	// limits it tests; the kernel's own would answer half the requests.
	srv.NoTaskAPI = true
	if srv.Logger == nil {
		srv.Logger = Logger(t)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("start kernel: %v", err)
	}
	k := &Kernel{Server: srv, t: t}
	k.AdminCreds = k.Creds(kernel.UserSpec{Name: "test-admin", Role: kernel.RoleAdmin})
	adminOpts, err := kernel.CredsOptions(k.AdminCreds)
	if err != nil {
		srv.Shutdown()
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL(), append(adminOpts, nats.MaxReconnects(-1), connectTimeout)...)
	if err != nil {
		srv.Shutdown()
		t.Fatalf("connect: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	k.NC, k.JS = nc, js
	t.Cleanup(k.Stop)
	return k
}

// Creds issues a credential and returns the path of its .creds file, in
// a temporary directory of the test.
func (k *Kernel) Creds(spec kernel.UserSpec) string {
	k.t.Helper()
	creds, _, err := k.Authority().Issue(spec)
	if err != nil {
		k.t.Fatalf("issue %s credential: %v", spec.Role, err)
	}
	path := filepath.Join(k.t.TempDir(), string(spec.Role)+".creds")
	if err := atomicfile.WriteFile(path, creds, 0o600); err != nil {
		k.t.Fatal(err)
	}
	return path
}

// connectTimeout bounds a test's dial, past nats.go's 2 s default: tests
// that own their kernels run in parallel on loaded machines, where a TLS
// and JWT handshake can take longer.
var connectTimeout = nats.Timeout(10 * time.Second)

// ConnectAs dials the kernel over TCP with the credential in credsFile.
func (k *Kernel) ConnectAs(credsFile string, opts ...nats.Option) *nats.Conn {
	k.t.Helper()
	nc, err := k.DialAs(credsFile, opts...)
	if err != nil {
		k.t.Fatalf("connect with %s: %v", credsFile, err)
	}
	return nc
}

// DialAs is ConnectAs for a connection the server may refuse: it
// returns the error instead of failing the test.
func (k *Kernel) DialAs(credsFile string, opts ...nats.Option) (*nats.Conn, error) {
	k.t.Helper()
	// The credential's own inbox prefix, as every part of AMF-OS dials.
	credOpts, err := kernel.CredsOptions(credsFile)
	if err != nil {
		k.t.Fatal(err)
	}
	nc, err := nats.Connect(k.ClientURL(), append(append(credOpts, connectTimeout), opts...)...)
	if err != nil {
		return nil, err
	}
	k.t.Cleanup(nc.Close)
	return nc, nil
}

// Stop closes the connection and shuts the server down; safe to call twice.
func (k *Kernel) Stop() {
	if k.NC != nil {
		k.NC.Close()
	}
	k.Shutdown()
}

// Logger is a slog.Logger that writes to the test log only with -v, so
// failing tests show context without flooding passing runs.
func Logger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
