package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	kapi "github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// The cost of the trust boundaries, measured side by side in one run:
//
//	off      a bare nats-server without authentication, the bridge
//	         writing the streams itself (what the bus was before);
//	auth     the kernel; the bridge holds a bridge credential and submits
//	         through the task API, the worker holds a worker credential;
//	auth+tls the same over TLS.
var authModes = []string{"off", "auth", "auth+tls"}

func authMesh(b *testing.B, mode string, concurrency int, opts ...ollamatest.Option) *benchMesh {
	b.Helper()
	if mode == "off" {
		sopts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: b.TempDir(), NoSigs: true, MaxPayload: 8 << 20}
		ns, err := server.NewServer(sopts)
		if err != nil {
			b.Fatal(err)
		}
		go ns.Start()
		if !ns.ReadyForConnections(30e9) {
			b.Fatal("nats-server not ready")
		}
		b.Cleanup(ns.Shutdown)
		dial := func() *nats.Conn {
			nc, err := nats.Connect(ns.ClientURL())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(nc.Close)
			return nc
		}
		nc := dial()
		js, _ := jetstream.New(nc)
		if err := kernel.Provision(context.Background(), js, kernel.Provisioning{}); err != nil {
			b.Fatal(err)
		}
		return newBenchMeshOn(b, nc, dial(), nil, nil, concurrency, opts...)
	}
	srv := &kernel.Server{StateDir: b.TempDir(), Listen: "127.0.0.1:-1", Logger: kerneltest.Logger(b)}
	var tlsOpts []nats.Option
	if mode == "auth+tls" {
		certs := makeCerts(b, "127.0.0.1")
		srv.TLS = kernel.TLSFiles{Cert: certs.Cert, Key: certs.Key}
		tlsOpts = append(tlsOpts, nats.RootCAs(certs.CA))
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	dial := func(role kernel.Role) *nats.Conn {
		creds, _, err := srv.Authority().Issue(kernel.UserSpec{Role: role})
		if err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(b.TempDir(), string(role)+".creds")
		if err := os.WriteFile(path, creds, 0o600); err != nil {
			b.Fatal(err)
		}
		opts, err := kernel.CredsOptions(path)
		if err != nil {
			b.Fatal(err)
		}
		nc, err := nats.Connect(srv.ClientURL(), append(opts, tlsOpts...)...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(nc.Close)
		return nc
	}
	// The task API as `amf kernel` runs it: in-process, privileged.
	inproc, err := srv.Connect()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(inproc.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = (&api.Service{Client: &kapi.Client{NC: inproc}}).Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	// The bridge checks a bearer token, as `amf bridge` on this kernel
	// must, and submits as its owner.
	js, err := jetstream.New(inproc)
	if err != nil {
		b.Fatal(err)
	}
	store, err := tokens.Open(ctx, js, bus.Names{}, true)
	if err != nil {
		b.Fatal(err)
	}
	verifier, err := store.Watch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(verifier.Stop)
	bridgeNC := dial(kernel.RoleBridge)
	m := newBenchMeshOn(b, bridgeNC, dial(kernel.RoleWorker), &kapi.Client{NC: bridgeNC, ViaAPI: true}, verifier, concurrency, opts...)
	// A client per 16 tasks at once: the bridge holds at most 32 open
	// streams per token.
	for range (concurrency + 15) / 16 {
		token, _, err := store.Create(ctx, []tokens.Scope{tokens.ScopeSubmit, tokens.ScopeRead}, nil, "bench")
		if err != nil {
			b.Fatal(err)
		}
		m.tokens = append(m.tokens, token)
	}
	return m
}

// BenchmarkAuthTTFT: time to first token with the trust boundaries off,
// on, and on with TLS; the three meshes run side by side and are measured
// in turn in every iteration, so a busy moment of the machine falls on all
// of them alike.
func BenchmarkAuthTTFT(b *testing.B) {
	meshes := make([]*benchMesh, len(authModes))
	for i, mode := range authModes {
		meshes[i] = authMesh(b, mode, 2, ollamatest.WithFallback(ollamatest.Reply{Content: structured}))
	}
	got := make([][]time.Duration, len(authModes))
	for round := 0; b.Loop(); round++ {
		// Each mode goes first in turn: whatever the previous task left
		// running falls on every mode alike.
		for j := range meshes {
			i := (round + j) % len(meshes)
			_, s := meshes[i].ttftOnce(b, false)
			got[i] = append(got[i], s)
		}
	}
	for i, mode := range authModes {
		b.ReportMetric(ms(percentile(got[i], .5)), mode+"-p50-ms")
		b.ReportMetric(ms(percentile(got[i], .99)), mode+"-p99-ms")
	}
	for i := 1; i < len(authModes); i++ {
		b.ReportMetric(ms(percentile(got[i], .5)-percentile(got[0], .5)), authModes[i]+"-overhead-p50-ms")
	}
}

// BenchmarkAuthTokenRelay: token relay with the trust boundaries off, on,
// and on with TLS, measured in turn in every iteration.
func BenchmarkAuthTokenRelay(b *testing.B) {
	meshes := make([]*benchMesh, len(authModes))
	for i, mode := range authModes {
		meshes[i] = authMesh(b, mode, relayTasks, ollamatest.WithFallback(ollamatest.Reply{Tokens: relayTokens()}))
	}
	tokens := make([]int64, len(authModes))
	windows := make([]time.Duration, len(authModes))
	for round := 0; b.Loop(); round++ {
		for j := range meshes {
			i := (round + j) % len(meshes)
			n, w := meshes[i].relayOnce(b)
			tokens[i] += n
			windows[i] += w
		}
	}
	rate := make([]float64, len(authModes))
	for i, mode := range authModes {
		if want := int64(b.N * relayTasks * relayTokensPerTask); tokens[i] < want {
			b.Fatalf("%s relayed %d tokens, want %d", mode, tokens[i], want)
		}
		rate[i] = float64(tokens[i]) / windows[i].Seconds()
		b.ReportMetric(rate[i], mode+"-tokens/s")
	}
	for i := 1; i < len(authModes); i++ {
		b.ReportMetric(100*(rate[0]-rate[i])/rate[0], authModes[i]+"-loss-%")
	}
}
