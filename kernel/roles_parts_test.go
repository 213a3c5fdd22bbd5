package kernel_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	kclient "github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// roleConn connects with a credential of the given role and records every
// permission violation the server reports on that connection.
func roleConn(t *testing.T, k *kerneltest.Kernel, spec kernel.UserSpec) (*nats.Conn, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var denied []string
	credOpts, err := kernel.CredsOptions(k.Creds(spec))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(k.ClientURL(), append(credOpts,
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) || strings.Contains(err.Error(), "Permissions Violation") {
				mu.Lock()
				denied = append(denied, err.Error())
				mu.Unlock()
			}
		}))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc, func() []string {
		_ = nc.Flush()
		time.Sleep(50 * time.Millisecond) // violations arrive as async -ERR
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), denied...)
	}
}

// Each part can do what it is deployed to do with its own role's
// credential: a worker answers the fleet's memory searches, a client asks
// them and the pools endpoint, a bridge follows the HTTP token bucket
// and counts tasks that ran out of deliveries.
func TestRolesReachWhatTheirPartsServe(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	worker, workerDenied := roleConn(t, k, kernel.UserSpec{Role: kernel.RoleWorker, Pools: []string{bus.DefaultPool}})
	for _, subj := range []string{names.MemorySearch(), names.MemorySearchAny(), names.MemoryList(), names.MemoryListAny()} {
		if _, err := worker.Subscribe(subj, func(m *nats.Msg) { _ = m.Respond([]byte("found " + m.Subject)) }); err != nil {
			t.Fatal(err)
		}
	}
	if d := workerDenied(); len(d) > 0 {
		t.Fatalf("worker may not serve memory search: %v", d)
	}
	client, clientDenied := roleConn(t, k, kernel.UserSpec{Role: kernel.RoleClient})
	me := bus.OwnerOfCredential(bus.CredentialID(kclient.UserKey(client)))
	for _, own := range []string{names.MemorySearchAs(me), names.MemoryListAs(me)} {
		reply, err := client.Request(own, []byte(`{}`), 5*time.Second)
		if err != nil || string(reply.Data) != "found "+own {
			t.Fatalf("client's memory search or listing on %s: %v %v (worker denied: %v)", own, err, reply, workerDenied())
		}
	}
	if err := client.Publish(names.API()+".pools", nil); err != nil {
		t.Fatal(err)
	}
	if d := clientDenied(); len(d) > 0 {
		t.Fatalf("client may not ask pools: %v", d)
	}

	bridge, bridgeDenied := roleConn(t, k, kernel.UserSpec{Role: kernel.RoleBridge})
	if _, err := bridge.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+names.TasksStream()+".*", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	bjs, err := jetstream.New(bridge)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := bjs.KeyValue(ctx, names.TokensBucket())
	if err != nil {
		t.Fatalf("bridge opens the token bucket: %v", err)
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		t.Fatalf("bridge watches the token bucket: %v", err)
	}
	admin, err := k.JS.KeyValue(ctx, names.TokensBucket())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Put(ctx, "probe", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for e := range w.Updates() {
		if e != nil && e.Key() == "probe" {
			break
		}
	}
	putCtx, cancelPut := context.WithTimeout(ctx, 2*time.Second)
	defer cancelPut()
	if _, err := kv.Put(putCtx, "forged", []byte("x")); err == nil {
		t.Fatal("a bridge credential wrote a token record")
	}
	if err := w.Stop(); err != nil {
		t.Fatalf("bridge stops its watch: %v", err)
	}
	if d := bridgeDenied(); len(d) != 1 || !strings.Contains(d[0], "$KV."+names.TokensBucket()+".forged") {
		t.Fatalf("bridge denials %v, want only its forged token write", d)
	}
}
