package kernel_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory/cache"
)

// A kernel started as `amf kernel` and `amf up` start it runs its own
// task API and status projector on the cache it opens: a task submitted
// on amf.api.submit gets an id, its events reach the cache as status,
// and the API answers that status from the cache.
func TestKernelRunsItsTaskAPIAndStatusProjector(t *testing.T) {
	t.Parallel()
	var hot *cache.KVCache
	srv := &kernel.Server{
		Listen: "127.0.0.1:-1", StateDir: t.TempDir(), Logger: kerneltest.Logger(t),
		OpenCache: func(ctx context.Context, nc *nats.Conn) (kernel.Cache, error) {
			js, err := jetstream.New(nc)
			if err != nil {
				return nil, err
			}
			hot, err = cache.NewKVCache(ctx, js)
			return hot, err
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- srv.Wait(ctx) }()
	t.Cleanup(srv.Shutdown)
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	// Start returns once clients can connect; the API answers soon after
	// (until then, no responders: nothing was submitted).
	var reply *nats.Msg
	testenv.Eventually(t, "the kernel's own API to answer", func() bool {
		reply, err = nc.Request(bus.Names{}.API()+".submit", []byte(`{"command":"ls"}`), 10*time.Second)
		if err != nil && !errors.Is(err, nats.ErrNoResponders) {
			t.Fatalf("submit on the kernel's own API: %v", err)
		}
		return err == nil
	})
	var sub client.Submitted
	if err := json.Unmarshal(reply.Data, &sub); err != nil || sub.ID == "" {
		t.Fatalf("submit answered %q (%v), want an id", reply.Data, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []bus.Event{
		{TaskID: sub.ID, Type: bus.EventAccepted, Task: &bus.Task{ID: sub.ID, Command: "ls", Pool: "default"}},
		{TaskID: sub.ID, Type: bus.EventDone, Command: "ls", Exec: &bus.ExecResult{ExitCode: 0}},
	} {
		if _, err := js.Publish(ctx, bus.Names{}.Event(sub.ID), e.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "the kernel's projector to store the task done", func() bool {
		s, err := hot.Status(ctx, sub.ID)
		return err == nil && s.State == bus.StateDone
	})
	reply, err = nc.Request(bus.Names{}.API()+".status", []byte(sub.ID), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var st bus.Status
	if err := json.Unmarshal(reply.Data, &st); err != nil || st.State != bus.StateDone {
		t.Fatalf("status answered %q (%v), want done", reply.Data, err)
	}
	cancel()
	if err := <-waited; err != nil {
		t.Fatalf("Wait after its context ended = %v, want nil", err)
	}
}

// A cache that cannot be opened stops the kernel's start with a clear
// error instead of running a kernel without status.
func TestKernelStartSaysWhyItsCacheFailed(t *testing.T) {
	t.Parallel()
	refused := errors.New("redis: connection refused")
	srv := &kernel.Server{
		Listen: "127.0.0.1:-1", StateDir: t.TempDir(), Logger: kerneltest.Logger(t),
		OpenCache: func(context.Context, *nats.Conn) (kernel.Cache, error) { return nil, refused },
	}
	err := srv.Run(context.Background())
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), "hot cache") {
		t.Fatalf("Run = %v, want the cache's error, naming the hot cache", err)
	}
}
