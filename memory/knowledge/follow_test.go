package knowledge_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory/knowledge"
)

// A worker's index, on a worker credential that may make no consumer on
// the memory stream, learns what another worker publishes through the
// consumer the kernel makes for it, keeps that consumer while the stream
// is quiet (its heartbeats say it is alive), and goes on learning after the
// kernel restarts (the consumer, kept in memory, is gone with it: the
// index notices the silence past its heartbeat and asks the new kernel
// for another from its last applied sequence).
func TestWorkersIndexFollowsThroughTheKernel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := kerneltest.StartIn(t, dir)
	serveTaskAPI(t, k)
	names := bus.Names{}
	kn := workerKnowledge(t, k, "follower", knowledge.Config{})
	learn(t, workerPublisher(t, k, "teacher"), "list the listening tcp ports", "ss -tlnp")
	syncKn(t, kn)
	if got := kn.Len(); got != 1 {
		t.Fatalf("the worker's index holds %d memories, want the other worker's 1", got)
	}
	mem, err := k.JS.Stream(ctxT(t), names.MemoryStream())
	if err != nil {
		t.Fatal(err)
	}
	consumers := func() string {
		var made []string
		lister := mem.ConsumerNames(ctxT(t))
		for name := range lister.Name() {
			if bus.IsVoucherName(name) {
				continue // the kernel's own (kernel/vouch)
			}
			if !bus.IsFollowerName(name) {
				t.Errorf("consumer %s on %s was not made by the kernel for a follower", name, names.MemoryStream())
			}
			made = append(made, name)
		}
		return fmt.Sprint(made)
	}
	// Quiet past the stall bound: the heartbeats keep the same consumer.
	before := consumers()
	time.Sleep(bus.FollowerStalled + bus.FollowerHeartbeat)
	if after := consumers(); after != before || kn.Err() != nil {
		t.Fatalf("a quiet stream changed the index's consumers from %s to %s (err %v)", before, after, kn.Err())
	}

	// The same kernel again, on the same address and store.
	u, err := url.Parse(k.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	k.Stop()
	k2 := kerneltest.StartWith(t, kernel.Server{StateDir: dir, Listen: u.Host})
	serveTaskAPI(t, k2)
	learn(t, workerPublisher(t, k2, "teacher"), "show the kernel version", "uname -r")
	syncKn(t, kn)
	if got := kn.Len(); got != 2 {
		t.Fatalf("after a kernel restart the worker's index holds %d memories, want 2 (err %v)", got, kn.Err())
	}
}
