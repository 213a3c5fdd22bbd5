package kernel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A revoked credential is cut off at once on every kernel (amf auth
// revoke pushes the re-signed account JWT through the system account).
// Held: a site's amf leaf receives the same update over its
// system-account link, so the stolen credential's live connection at the
// site is closed and a new one is refused there, by the leaf's
// nats-server; a worker of the site still works.
func TestAttackRevokedCredentialStillWorksOnALeaf(t *testing.T) {
	t.Parallel()
	leafPort := testenv.FreePort(t)
	hub := kerneltest.StartWith(t, kernel.Server{LeafListen: fmt.Sprintf("127.0.0.1:%d", leafPort)})
	link := hub.Creds(kernel.UserSpec{Name: "attack-site", Role: kernel.RoleWorker})
	l := startLeaf(t, hub, leafPort, link)
	stolen := hub.Creds(kernel.UserSpec{Name: "attack-stolen", Role: kernel.RoleClient})
	opts, err := kernel.CredsOptions(stolen)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	live, err := nats.Connect(l.ClientURL(), append(opts, nats.NoReconnect(), nats.ClosedHandler(func(*nats.Conn) { close(closed) }))...)
	if err != nil {
		t.Fatalf("the stolen credential before its revocation: %v", err)
	}
	defer live.Close()

	// The operator revokes it as README says, with the kernel running.
	keys, err := hub.Authority().Resolve(stolen)
	if err != nil {
		t.Fatal(err)
	}
	accJWT, err := hub.Authority().Revoke(keys...)
	if err != nil {
		t.Fatal(err)
	}
	sys := hub.ConnectAs(filepath.Join(hub.Authority().Dir, kernel.SystemCredsFile))
	push := func() {
		if _, err := sys.Request(fmt.Sprintf("$SYS.REQ.ACCOUNT.%s.CLAIMS.UPDATE", hub.Authority().AccountKey()), []byte(accJWT), 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	push()
	if c, err := nats.Connect(hub.ClientURL(), opts...); err == nil {
		c.Close()
		t.Fatal("the kernel let the revoked credential in")
	}
	// The leaf's interest in updates reaches the kernel just after its
	// link is up; an update pushed before that misses the leaf, so the
	// push is repeated (it is idempotent) until the live connection ends.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for done := false; !done; {
		select {
		case <-closed:
			done = true
		case <-time.After(500 * time.Millisecond):
			push()
		case <-ctx.Done():
			t.Fatal("the revoked credential's connection to the site's leaf is still open")
		}
	}
	if nc, err := nats.Connect(l.ClientURL(), opts...); err == nil {
		defer nc.Close()
		t.Fatal("a credential revoked on the kernels connected to the site's leaf")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("refused for the wrong reason: %v", err)
	}

	// A worker of the site, on the leaf with the site's credential, still
	// stores its events.
	siteOpts, err := kernel.CredsOptions(link)
	if err != nil {
		t.Fatal(err)
	}
	wc, err := nats.Connect(l.ClientURL(), siteOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	js, err := jetstream.New(wc)
	if err != nil {
		t.Fatal(err)
	}
	names := bus.Names{}
	ev := bus.Event{TaskID: "attack-site-task", Type: bus.EventStdout, Text: "site output", TS: time.Now().UTC()}
	evMsg := names.EventMsg(ev)
	evMsg.Subject = names.EventBy("attack-site-task", bus.DefaultPool, credentialIDOf(t, link))
	if _, err := js.PublishMsg(ctx, evMsg); err != nil {
		t.Fatalf("site worker stores an event: %v", err)
	}
}

// Credentials may call the JetStream API under a domain's name
// ($JS.amf.API.…) so that calls through a leaf work. Held: under the
// domain a client or worker credential can do nothing it cannot do
// plainly; each refusal is nats-server's.
func TestAttackDomainAPIGivesNothingMore(t *testing.T) {
	t.Parallel()
	leafPort := testenv.FreePort(t)
	hub := kerneltest.StartWith(t, kernel.Server{LeafListen: fmt.Sprintf("127.0.0.1:%d", leafPort)})
	names := bus.Names{}
	for _, role := range []kernel.Role{kernel.RoleClient, kernel.RoleWorker, kernel.RoleBridge} {
		creds := hub.Creds(kernel.UserSpec{Name: "attack-domain-" + string(role), Role: role})
		for _, domain := range []string{"amf", "other"} {
			// A connection per domain: a violation is reported under the
			// subject the kernel's domain maps it to ($JS.API.…, $KV.…),
			// the same tail for both domains.
			nc := hub.ConnectAs(creds)
			api := "$JS." + domain + ".API."
			for _, subj := range []string{
				api + "STREAM.DELETE." + names.TasksStream(),
				api + "STREAM.PURGE." + names.EventsStream(),
				api + "STREAM.MSG.GET." + "AMF_SCHEDULES",
				api + "DIRECT.GET." + "AMF_SCHEDULES",
				api + "CONSUMER.CREATE." + "AMF_SCHEDULES",
				api + "CONSUMER.CREATE." + names.EventsStream() + "." + names.StatusConsumer(),
				api + "CONSUMER.DELETE." + names.EventsStream() + "." + names.StatusConsumer(),
				api + "STREAM.CREATE.attack",
				api + "$KV." + names.TokensBucket() + ".x",
			} {
				if err := nc.Publish(subj, []byte(`{}`)); err != nil {
					t.Fatal(err)
				}
				if err := nc.Flush(); err != nil {
					t.Fatal(err)
				}
				if err := nc.LastError(); err == nil || !strings.Contains(err.Error(), "Permissions Violation") || !strings.Contains(err.Error(), strings.TrimPrefix(subj, api)) {
					t.Errorf("%s may publish on %s (%v)", role, subj, err)
				}
			}
		}
	}
}

// The leaf's updates credential is a user of the system account, held at
// a site. Held: with it, on a kernel, one may not push an account JWT
// (an older one would undo revocations), nor hear the system account's
// traffic or other inboxes, nor ask the servers anything but the
// account's information; each refusal is nats-server's.
func TestAttackLeafUpdatesCredentialGivesNothingMore(t *testing.T) {
	t.Parallel()
	hub := kerneltest.Start(t)
	raw, err := hub.Authority().LeafUpdates()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "leaf-updates.creds")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	acc := hub.Authority().AccountKey()
	old, err := hub.Authority().AccountJWT()
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{
		"$SYS.REQ.ACCOUNT." + acc + ".CLAIMS.UPDATE",
		"$SYS.ACCOUNT." + acc + ".CLAIMS.UPDATE",
		"$SYS.REQ.CLAIMS.UPDATE",
		"$SYS.REQ.SERVER.PING.CONNZ",
		"$SYS.REQ.ACCOUNT." + acc + ".CONNZ",
	} {
		nc := hub.ConnectAs(file, nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
		if err := nc.Publish(subj, []byte(old)); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := nc.LastError(); err == nil || !strings.Contains(err.Error(), "Permissions Violation") {
			t.Errorf("the updates credential may publish on %s (%v)", subj, err)
		}
	}
	for _, subj := range []string{"$SYS.>", "_INBOX.>", "$SYS.ACCOUNT.>", ">"} {
		nc := hub.ConnectAs(file, nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
		if _, err := nc.SubscribeSync(subj); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := nc.LastError(); err == nil || !strings.Contains(err.Error(), "Permissions Violation") {
			t.Errorf("the updates credential may subscribe to %s (%v)", subj, err)
		}
	}
}
