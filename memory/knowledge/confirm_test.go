package knowledge_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// TestConfirmationByAUserReachesEveryWorker: a command that worked once
// is only an example until a user confirms it through the API; a worker
// says the memory exists and the bridge writes the confirmation to the
// memory stream, so every worker reuses the command. The parts run with
// the credentials they are deployed with: the answering worker with a
// worker's, the confirming bridge with a bridge's.
func TestConfirmationByAUserReachesEveryWorker(t *testing.T) {
	k := kerneltest.Start(t)
	serveTaskAPI(t, k)
	names := bus.Names{}
	workerCreds := k.Creds(kernel.UserSpec{Role: kernel.RoleWorker})
	workerJS, err := jetstream.New(k.ConnectAs(workerCreds))
	if err != nil {
		t.Fatal(err)
	}
	a, err := knowledge.Open(ctxT(t), workerJS, knowledge.Config{Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	stop := knowledge.Serve(ctxT(t), workerJS.Conn(), names, a)
	defer stop()
	dir := t.TempDir()
	b := openKnowledge(t, k, knowledge.Config{StateDir: dir})

	const instr = "restart the web server"
	id := learn(t, workerRanTasks(t, k, workerCreds, bus.DefaultPool), instr, "systemctl restart nginx")
	syncKn(t, b)
	if m := recallOne(t, b, instr); m.Reuse || !strings.Contains(m.NoReuse, "amf memory confirm "+id) {
		t.Fatalf("after one success: %+v, want an example that says how to confirm it", m)
	}

	bridge := &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Role: kernel.RoleBridge})), Names: names}
	var m memory.Match
	eventually(t, "a worker to answer confirmations", func() bool {
		m, err = bridge.ConfirmMemory(ctxT(t), id, "alice")
		return !errors.Is(err, client.ErrUnavailable)
	})
	if err != nil || m.ID != id || m.ConfirmedBy != "alice" || m.Successes != 1 {
		t.Fatalf("confirm = %+v, %v", m, err)
	}
	syncKn(t, b)
	if m := recallOne(t, b, instr); !m.Reuse || m.ConfirmedBy != "alice" {
		t.Fatalf("after the confirmation, on another worker: %+v", m)
	}
	// Saved with the index: a restart that replays nothing keeps it.
	applied := b.Applied()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = openKnowledge(t, k, knowledge.Config{StateDir: dir})
	if got := b.Applied(); got != applied {
		t.Fatalf("reopened at %d, want the saved %d", got, applied)
	}
	if m := recallOne(t, b, instr); !m.Reuse || m.ConfirmedBy != "alice" {
		t.Fatalf("after a restart: %+v", m)
	}

	if _, err := bridge.ConfirmMemory(ctxT(t), "0123456789abcdef0123", "alice"); !errors.Is(err, memory.ErrUnknownMemory) {
		t.Fatalf("confirming an unknown memory: %v, want ErrUnknownMemory", err)
	}
	if _, err := bridge.ConfirmMemory(ctxT(t), "not an id", "alice"); !errors.Is(err, memory.ErrUnknownMemory) {
		t.Fatalf("confirming a malformed id: %v, want ErrUnknownMemory", err)
	}
}

// TestAClientMayNotConfirm: a client credential submits tasks and reads
// memory, but may neither ask for a confirmation nor write one to the
// stream itself; nats-server refuses both, and no worker sees one.
func TestAClientMayNotConfirm(t *testing.T) {
	k := kerneltest.Start(t)
	names := bus.Names{}
	kn := openKnowledge(t, k, knowledge.Config{})
	stop := knowledge.Serve(ctxT(t), k.NC, names, kn)
	defer stop()
	const instr = "flush the dns cache"
	id := learn(t, kn, instr, "resolvectl flush-caches")
	syncKn(t, kn)
	applied := kn.Applied()

	nc := k.ConnectAs(k.Creds(kernel.UserSpec{Role: kernel.RoleClient}))
	c := &client.Client{NC: nc, Names: names}
	if _, err := c.ConfirmMemory(ctxT(t), id, "mallory"); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("a client's confirm request: %v, want ErrForbidden", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	pub := memory.Publisher{JS: js, Names: names}
	pctx, cancel := context.WithTimeout(ctxT(t), 3*time.Second)
	defer cancel()
	if _, err := pub.Confirm(pctx, id, "mallory"); err == nil {
		t.Fatal("a client credential wrote a confirmation to the memory stream")
	}
	// Nothing reached the stream after the learned record (and the
	// kernel's verdict on it).
	syncKn(t, kn)
	if got := kn.Applied(); got != applied {
		t.Fatalf("stream at %d, want %d: only the learned record", got, applied)
	}
	if m := recallOne(t, kn, instr); m.Reuse || m.ConfirmedBy != "" {
		t.Fatalf("after a client's attempts: %+v", m)
	}
}

func recallOne(t *testing.T, kn *knowledge.Knowledge, instr string) memory.Match {
	t.Helper()
	ms, err := kn.Recall(ctxT(t), "", instr, memory.HostFacts{}, 1)
	if err != nil || len(ms) != 1 {
		t.Fatalf("recall %q: %+v, %v", instr, ms, err)
	}
	return ms[0]
}
