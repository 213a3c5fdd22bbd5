package kernel_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// No non-admin credential reads the replies other connections receive:
// a client that subscribes to every inbox, or to the bridge's, is refused
// by nats-server and sees nothing of a reply the bridge gets, while the
// bridge's own request still works through its own inbox.
func TestNoRoleReadsOthersReplies(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	worker, _ := roleConn(t, k, kernel.UserSpec{Role: kernel.RoleWorker})
	if _, err := worker.Subscribe(names.MemorySearch(), func(m *nats.Msg) { _ = m.Respond([]byte("secret answer")) }); err != nil {
		t.Fatal(err)
	}
	if err := worker.Flush(); err != nil {
		t.Fatal(err)
	}
	bridgeCreds := k.Creds(kernel.UserSpec{Name: "inbox-bridge", Role: kernel.RoleBridge})
	bridge := k.ConnectAs(bridgeCreds)
	bridgeInbox, err := kernel.CredsInboxPrefix(bridgeCreds)
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []kernel.Role{kernel.RoleClient, kernel.RoleWorker} {
		snoop, snoopDenied := roleConn(t, k, kernel.UserSpec{Role: role})
		var seen atomic.Int32
		for _, subj := range []string{"_INBOX.>", bridgeInbox + ".>", "_INBOX_*.>", ">"} {
			if _, err := snoop.Subscribe(subj, func(*nats.Msg) { seen.Add(1) }); err != nil {
				t.Fatal(err)
			}
		}
		denied := snoopDenied()
		for _, subj := range []string{`"_INBOX.>"`, `"` + bridgeInbox + `.>"`, `"_INBOX_*.>"`, `">"`} {
			if !strings.Contains(strings.Join(denied, "\n"), "Subscription to "+subj) {
				t.Errorf("%s subscribed to %s without refusal (refused: %v)", role, subj, denied)
			}
		}
		reply, err := bridge.Request(names.MemorySearch(), []byte(`{}`), 5*time.Second)
		if err != nil || string(reply.Data) != "secret answer" {
			t.Fatalf("bridge's request through its own inbox: %v %v", err, reply)
		}
		if !strings.HasPrefix(reply.Subject, bridgeInbox+".") {
			t.Fatalf("reply came on %s, not under the bridge's inbox %s", reply.Subject, bridgeInbox)
		}
		_ = snoop.Flush()
		if n := seen.Load(); n != 0 {
			t.Fatalf("%s read %d messages meant for others' inboxes", role, n)
		}
	}
}
