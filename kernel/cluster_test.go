package kernel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// TestShippedClusterConfigFormsAReplicatedBus starts three kernels from
// deploy/cluster/kernel-cluster.conf (only its addresses moved to
// loopback), at once and in no order, and checks that they provision
// replicated streams and that a task published through one kernel is
// taken through another.
func TestShippedClusterConfigFormsAReplicatedBus(t *testing.T) {
	t.Parallel()
	servers, credsFile := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	connect := func(s *kernel.Server) (*nats.Conn, jetstream.JetStream) {
		nc, err := nats.Connect(s.ClientURL(), nats.UserCredentials(credsFile))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, _ := jetstream.New(nc)
		return nc, js
	}
	_, js1 := connect(servers[0])
	_, js3 := connect(servers[2])
	names := bus.Names{}
	info, err := js1.Stream(ctx, names.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Config.Replicas; got != 3 {
		t.Fatalf("tasks stream has %d replicas, want 3", got)
	}
	if _, err := js1.Publish(ctx, names.Task("default"), []byte(`{"id":"across","command":"true"}`)); err != nil {
		t.Fatal(err)
	}
	cons, err := js3.CreateOrUpdateConsumer(ctx, names.TasksStream(), names.PoolConsumerConfig("default"))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("fetch through kernel-3: %v", err)
	}
	if bus.PeekID(msg.Data()) != "across" {
		t.Fatalf("got %q", msg.Data())
	}
}

// startCluster starts three kernels from deploy/cluster/kernel-cluster.conf
// (only its addresses moved to loopback), at once and in no order. Each
// tweak may change a kernel's settings before it starts.
func startCluster(t *testing.T, tweaks ...func(i int, s *kernel.Server)) (servers []*kernel.Server, adminCreds string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "cluster", "kernel-cluster.conf"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	var route, leaf, mon [n]int
	for i := range n {
		route[i], leaf[i], mon[i] = testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	}
	// The kernels of a cluster share one authority.
	authDir := t.TempDir()
	auth, err := kernel.OpenAuthority(authDir)
	if err != nil {
		t.Fatal(err)
	}
	creds, _, err := auth.Issue(kernel.UserSpec{Role: kernel.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	credsFile := filepath.Join(t.TempDir(), "admin.creds")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	servers = make([]*kernel.Server, n)
	for i := range n {
		conf := string(raw)
		conf = strings.ReplaceAll(conf, "0.0.0.0:6222", fmt.Sprintf("127.0.0.1:%d", route[i]))
		conf = strings.ReplaceAll(conf, "0.0.0.0:7422", fmt.Sprintf("127.0.0.1:%d", leaf[i]))
		conf = strings.ReplaceAll(conf, "0.0.0.0:8222", fmt.Sprintf("127.0.0.1:%d", mon[i]))
		for j := range n {
			conf = strings.ReplaceAll(conf, fmt.Sprintf("kernel-%d.example.internal:6222", j+1), fmt.Sprintf("127.0.0.1:%d", route[j]))
		}
		path := filepath.Join(t.TempDir(), "kernel.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		servers[i] = &kernel.Server{
			ConfigFile: path, ServerName: fmt.Sprintf("kernel-%d", i+1),
			Listen: "127.0.0.1:-1", StateDir: t.TempDir(), AuthDir: authDir, Logger: kerneltest.Logger(t),
		}
		for _, tweak := range tweaks {
			tweak(i, servers[i])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Start(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("kernel-%d: %v", i+1, err)
		}
		t.Cleanup(servers[i].Shutdown)
	}

	return servers, credsFile
}
