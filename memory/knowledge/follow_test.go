package knowledge_test

import (
	"net/url"
	"testing"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory/knowledge"
)

// A worker's index, on a worker credential that may make no consumer on
// the memory stream, learns what another worker publishes through the
// consumer the kernel makes for it, and goes on learning after the
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
	lister := mem.ConsumerNames(ctxT(t))
	for name := range lister.Name() {
		if !bus.IsFollowerName(name) {
			t.Errorf("consumer %s on %s was not made by the kernel for a follower", name, names.MemoryStream())
		}
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
