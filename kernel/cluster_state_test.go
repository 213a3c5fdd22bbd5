package kernel_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory/cache"
)

// TestClusterReplicatesHotCache checks the cluster's own state: the
// hot-cache buckets are kept on three kernels like the streams, whichever
// kernel opens them first, and a status written through one kernel is
// read through another.
func TestClusterReplicatesHotCache(t *testing.T) {
	t.Parallel()
	servers, credsFile := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	names := bus.Names{}
	var js [2]jetstream.JetStream
	for i, s := range []*kernel.Server{servers[0], servers[2]} {
		nc, err := nats.Connect(s.ClientURL(), nats.UserCredentials(credsFile), nats.MaxReconnects(-1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js[i], _ = jetstream.New(nc)
	}

	var caches [2]*cache.KVCache
	for i := range caches {
		kv, err := cache.NewKVCache(ctx, js[i])
		if err != nil {
			t.Fatal(err)
		}
		caches[i] = kv
	}
	for _, bucket := range []string{names.StatusBucket(), names.WorkersBucket(), names.SessionsBucket()} {
		s, err := js[1].Stream(ctx, "KV_"+bucket)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.CachedInfo().Config.Replicas; got != 3 {
			t.Errorf("bucket %s has %d replicas, want 3 like the streams", bucket, got)
		}
	}

	st := bus.Status{ID: "across", State: bus.StateRunning}
	if err := caches[0].SetStatus(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err := caches[1].Status(ctx, "across")
	if err != nil || got.State != bus.StateRunning {
		t.Fatalf("status through kernel-3: %+v, %v", got, err)
	}
}
