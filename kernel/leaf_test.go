package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// startLeaf runs a leaf of hub that dials out with a credential of role.
func startLeaf(t *testing.T, hub *kerneltest.Kernel, leafPort int, creds string) *kernel.Leaf {
	t.Helper()
	acc, err := hub.Authority().AccountJWT()
	if err != nil {
		t.Fatal(err)
	}
	return startLeafFrom(t, hub, leafPort, creds, acc)
}

// startLeafFrom runs a leaf set up with the account JWT acc.
func startLeafFrom(t *testing.T, hub *kerneltest.Kernel, leafPort int, creds, acc string) *kernel.Leaf {
	t.Helper()
	accFile := filepath.Join(t.TempDir(), "account.jwt")
	if err := os.WriteFile(accFile, []byte(acc), 0o644); err != nil {
		t.Fatal(err)
	}
	updates, err := hub.Authority().LeafUpdates()
	if err != nil {
		t.Fatal(err)
	}
	updatesFile := filepath.Join(t.TempDir(), "leaf-updates.creds")
	if err := os.WriteFile(updatesFile, updates, 0o600); err != nil {
		t.Fatal(err)
	}
	l := &kernel.Leaf{
		Listen: "127.0.0.1:-1", Remotes: []string{fmt.Sprintf("nats-leaf://127.0.0.1:%d", leafPort)},
		Creds: creds, AccountJWT: accFile, Updates: updatesFile, ServerName: "edge-test", Logger: kerneltest.Logger(t),
	}
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Shutdown)
	for !l.Connected() {
		time.Sleep(20 * time.Millisecond)
	}
	return l
}

// TestLeafCarriesAWorkerOutboundOnly: a worker that reaches the kernel
// only through a leaf that dialled out opens its pool, takes a task with
// JetStream pull requests and stores an event, all with the one worker
// credential; the leaf lets no one in without a credential and holds
// that credential to the worker's permissions.
func TestLeafCarriesAWorkerOutboundOnly(t *testing.T) {
	t.Parallel()
	leafPort := testenv.FreePort(t)
	hub := kerneltest.StartWith(t, kernel.Server{LeafListen: fmt.Sprintf("127.0.0.1:%d", leafPort)})
	workerCreds := hub.Creds(kernel.UserSpec{Name: "edge-worker", Role: kernel.RoleWorker})
	l := startLeaf(t, hub, leafPort, workerCreds)

	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := hub.JS.Publish(ctx, names.Task("default"), []byte(`{"id":"via-leaf","command":"true"}`)); err != nil {
		t.Fatal(err)
	}

	credOpts, err := kernel.CredsOptions(workerCreds)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(l.ClientURL(), append(credOpts, nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))...)
	if err != nil {
		t.Fatalf("worker to its leaf: %v", err)
	}
	defer nc.Close()
	// The kernel opens the pool's consumer on request: a request and its
	// reply cross the leaf.
	var reply *nats.Msg
	for reply == nil {
		// Interest in the pool subject reaches the leaf shortly after
		// the link is up; until then the request finds no responder.
		reply, err = nc.Request(names.PoolSubject("default"), nil, 2*time.Second)
		if err != nil && !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, nats.ErrTimeout) {
			t.Fatalf("open pool via leaf: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatal("the kernel never answered through the leaf")
		}
	}
	if string(reply.Data) != "ok" {
		t.Fatalf("open pool: %q", reply.Data)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, names.TasksStream(), names.PoolConsumer("default"))
	if err != nil {
		t.Fatalf("consumer info via leaf: %v", err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("pull a task via leaf: %v", err)
	}
	if bus.PeekID(msg.Data()) != "via-leaf" {
		t.Fatalf("got %q", msg.Data())
	}
	if err := msg.Ack(); err != nil {
		t.Fatal(err)
	}
	ev := bus.Event{TaskID: "via-leaf", Type: bus.EventAssigned, TS: time.Now().UTC()}
	// On the worker's own subject, the one its credential may store on.
	evMsg := names.EventMsg(ev)
	evMsg.Subject = names.EventBy("via-leaf", bus.DefaultPool, credentialIDOf(t, workerCreds))
	if _, err := js.PublishMsg(ctx, evMsg); err != nil {
		t.Fatalf("store an event via leaf: %v", err)
	}
	got, err := names.LastEvent(ctx, mustStream(t, ctx, hub.JS, names.EventsStream()), "via-leaf")
	if err != nil || got.Type != bus.EventAssigned {
		t.Fatalf("the kernel has %+v, %v", got, err)
	}
	// What a worker reads before it runs a task: the task's newest event,
	// by a direct get that any replica answers.
	got, err = names.LastEvent(ctx, mustStream(t, ctx, js, names.EventsStream()), "via-leaf")
	if err != nil || got.Type != bus.EventAssigned {
		t.Fatalf("through the leaf: %+v, %v", got, err)
	}

	// From the attacker's side: no credential, no entry.
	if c, err := nats.Connect(l.ClientURL()); err == nil {
		c.Close()
		t.Fatal("the leaf let a client in without a credential")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("refused for the wrong reason: %v", err)
	}
	// A credential the leaf's account did not sign is refused too.
	other := kerneltest.Start(t)
	foreign := other.Creds(kernel.UserSpec{Name: "foreign", Role: kernel.RoleAdmin})
	fOpts, _ := kernel.CredsOptions(foreign)
	if c, err := nats.Connect(l.ClientURL(), fOpts...); err == nil {
		c.Close()
		t.Fatal("the leaf let in a credential of another installation")
	}
	// The worker's permissions hold at the leaf: it may not delete the
	// tasks stream, and the stream is still there.
	// The publish is refused, so the request only times out.
	dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
	defer dcancel()
	if err := js.DeleteStream(dctx, names.TasksStream()); err == nil {
		t.Fatal("a worker deleted the tasks stream through the leaf")
	}
	if _, err := hub.JS.Stream(ctx, names.TasksStream()); err != nil {
		t.Fatalf("tasks stream after the attempt: %v", err)
	}
}

func mustStream(t *testing.T, ctx context.Context, js jetstream.JetStream, name string) jetstream.Stream {
	t.Helper()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Leafnodes accepted beyond loopback without TLS are announced as loudly
// as clients would be; an address that is not one is refused with a hint.
func TestLeafListenWithoutTLSSaysSo(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	srv := &kernel.Server{StateDir: t.TempDir(), Listen: "127.0.0.1:-1", LeafListen: "0.0.0.0:-1", Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if !strings.Contains(logs.String(), "accepts leafnodes beyond loopback WITHOUT TLS") {
		t.Fatalf("no warning:\n%s", logs.String())
	}
	bad := &kernel.Server{StateDir: t.TempDir(), Listen: "127.0.0.1:-1", LeafListen: "7422"}
	if err := bad.Start(context.Background()); !errors.Is(err, kernel.ErrConfig) || !strings.Contains(err.Error(), "host:port") {
		bad.Shutdown()
		t.Fatalf("leaf address without a host: %v", err)
	}
}

// A leaf keeps the account updates it receives: restarted with no link
// to the kernels, it still refuses a credential revoked while it ran,
// and still lets the site's own credential in.
func TestLeafKeepsRevocationsAcrossRestart(t *testing.T) {
	t.Parallel()
	leafPort := testenv.FreePort(t)
	hub := kerneltest.StartWith(t, kernel.Server{LeafListen: fmt.Sprintf("127.0.0.1:%d", leafPort)})
	link := hub.Creds(kernel.UserSpec{Name: "keep-site", Role: kernel.RoleWorker})
	l := startLeaf(t, hub, leafPort, link)
	stolen := hub.Creds(kernel.UserSpec{Name: "keep-stolen", Role: kernel.RoleClient})
	keys, err := hub.Authority().Resolve(stolen)
	if err != nil {
		t.Fatal(err)
	}
	accJWT, err := hub.Authority().Revoke(keys...)
	if err != nil {
		t.Fatal(err)
	}
	sys := hub.ConnectAs(filepath.Join(hub.Authority().Dir, kernel.SystemCredsFile))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Pushed until the leaf has it (its interest in updates reaches the
	// kernel just after its link is up).
	for !revokedIn(t, l.AccountJWT, keys[0]) {
		if _, err := sys.Request(fmt.Sprintf("$SYS.REQ.ACCOUNT.%s.CLAIMS.UPDATE", hub.Authority().AccountKey()), []byte(accJWT), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("the leaf never kept the update")
		case <-time.After(200 * time.Millisecond):
		}
	}
	l.Shutdown()

	// The same site, its link down: nothing but its files to go by.
	again := &kernel.Leaf{
		Listen: "127.0.0.1:-1", Remotes: []string{fmt.Sprintf("nats-leaf://127.0.0.1:%d", testenv.FreePort(t))},
		Creds: link, AccountJWT: l.AccountJWT, Updates: l.Updates, ServerName: "edge-again", Logger: kerneltest.Logger(t),
	}
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	defer again.Shutdown()
	opts, err := kernel.CredsOptions(stolen)
	if err != nil {
		t.Fatal(err)
	}
	if nc, err := nats.Connect(again.ClientURL(), opts...); err == nil {
		nc.Close()
		t.Fatal("a restarted leaf let in a credential revoked while it ran")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("refused for the wrong reason: %v", err)
	}
	siteOpts, err := kernel.CredsOptions(link)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(again.ClientURL(), siteOpts...)
	if err != nil {
		t.Fatalf("the site's credential on the restarted leaf: %v", err)
	}
	nc.Close()
}

// revokedIn reports whether the account JWT in file revokes key.
func revokedIn(t *testing.T, file, key string) bool {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := jwt.DecodeAccountClaims(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	_, ok := ac.Revocations[key]
	return ok
}

// A leaf whose link was down when a credential was revoked (set up here
// with a copy of the account JWT older than the revocation) catches up
// when its link comes up: it asks the kernels for the account's JWT and
// refuses the revoked credential from then on.
func TestLeafCatchesUpOnRevocationsMissedWhileUnlinked(t *testing.T) {
	t.Parallel()
	leafPort := testenv.FreePort(t)
	hub := kerneltest.StartWith(t, kernel.Server{LeafListen: fmt.Sprintf("127.0.0.1:%d", leafPort)})
	link := hub.Creds(kernel.UserSpec{Name: "catch-site", Role: kernel.RoleWorker})
	stolen := hub.Creds(kernel.UserSpec{Name: "catch-stolen", Role: kernel.RoleClient})
	old, err := hub.Authority().AccountJWT()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := hub.Authority().Resolve(stolen)
	if err != nil {
		t.Fatal(err)
	}
	accJWT, err := hub.Authority().Revoke(keys...)
	if err != nil {
		t.Fatal(err)
	}
	sys := hub.ConnectAs(filepath.Join(hub.Authority().Dir, kernel.SystemCredsFile))
	if _, err := sys.Request(fmt.Sprintf("$SYS.REQ.ACCOUNT.%s.CLAIMS.UPDATE", hub.Authority().AccountKey()), []byte(accJWT), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	l := startLeafFrom(t, hub, leafPort, link, old)
	if revokedIn(t, l.AccountJWT, keys[0]) {
		t.Fatal("the leaf was set up with the revocation already")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for !revokedIn(t, l.AccountJWT, keys[0]) {
		select {
		case <-ctx.Done():
			t.Fatal("the leaf never caught up with the revocation made while it was unlinked")
		case <-time.After(200 * time.Millisecond):
		}
	}
	opts, err := kernel.CredsOptions(stolen)
	if err != nil {
		t.Fatal(err)
	}
	if nc, err := nats.Connect(l.ClientURL(), opts...); err == nil {
		nc.Close()
		t.Fatal("the leaf let in a credential revoked while it was unlinked")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("refused for the wrong reason: %v", err)
	}
}

// credentialIDOf is the credential id of a .creds file: the subjects
// that are its own carry it.
func credentialIDOf(t *testing.T, creds string) string {
	t.Helper()
	prefix, err := kernel.CredsInboxPrefix(creds)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(prefix, "_INBOX_")
}
