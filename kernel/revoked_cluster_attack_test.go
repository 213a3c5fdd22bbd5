package kernel_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// In a cluster each kernel cancels only the revoked owners' tasks its
// own task API accepted. A stolen client credential queues work through
// the cluster (its requests spread over the kernels' task APIs); one
// kernel then stops (a crash, maintenance) and the credential is revoked
// while it is down. The surviving kernels cancel what they accepted and
// leave the tasks the stopped kernel accepted queued: workers, which
// pull from the surviving replicas, start them for the revoked owner for
// as long as that kernel stays down. A revocation must end the owner's
// queued tasks whichever kernel accepted them.
func TestAttackRevokedOwnersTasksAcceptedByAStoppedKernelStayQueued(t *testing.T) {
	t.Parallel()
	servers, adminCreds := startCluster(t)
	auth, err := kernel.OpenAuthority(servers[0].AuthDir)
	if err != nil {
		t.Fatal(err)
	}
	raw, key, err := auth.Issue(kernel.UserSpec{Name: "stolen", Role: kernel.RoleClient})
	if err != nil {
		t.Fatal(err)
	}
	stolen := filepath.Join(t.TempDir(), "stolen.creds")
	if err := os.WriteFile(stolen, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	connect := func(s *kernel.Server, creds string) *nats.Conn {
		t.Helper()
		opts, err := kernel.CredsOptions(creds)
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(s.ClientURL(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	thief := &client.Client{NC: connect(servers[0], stolen), ViaAPI: true}
	owner := bus.OwnerOfCredential(bus.CredentialID(key))

	// Queue tasks until another kernel than the one we talk to holds some,
	// and a kernel that stays up holds some too.
	held := func(s *kernel.Server) []string { return s.TaskAPI().HeldIDs(owner) }
	var down *kernel.Server
	deadline := time.Now().Add(2 * time.Minute)
	for down == nil {
		if time.Now().After(deadline) {
			t.Fatal("no other kernel accepted any of the thief's tasks")
		}
		_, _, err := thief.Submit(context.Background(), bus.Task{Command: "echo ran-for-a-revoked-owner", Pool: "later"})
		if err != nil && !errors.Is(err, client.ErrUnavailable) {
			t.Fatal(err)
		}
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		// One kernel to stop, and another still up that holds some too.
		for _, s := range servers[1:] {
			others := 0
			for _, o := range servers {
				if o != s {
					others += len(held(o))
				}
			}
			if len(held(s)) > 0 && others > 0 {
				down = s
				break
			}
		}
	}
	left := held(down)
	var kept []string // accepted by kernels that stay up: these are cancelled
	for _, s := range servers {
		if s != down {
			kept = append(kept, held(s)...)
		}
	}
	down.Shutdown()

	accJWT, err := auth.Revoke(key)
	if err != nil {
		t.Fatal(err)
	}
	sys := connect(servers[0], filepath.Join(servers[0].AuthDir, kernel.SystemCredsFile))
	if _, err := sys.Request("$SYS.REQ.ACCOUNT."+auth.AccountKey()+".CLAIMS.UPDATE", []byte(accJWT), 10*time.Second); err != nil {
		t.Fatal(err)
	}

	anc := connect(servers[0], adminCreds)
	js, err := jetstream.New(anc)
	if err != nil {
		t.Fatal(err)
	}
	admin := &client.Client{NC: anc, JS: js}
	deadline = time.Now().Add(20 * time.Second)
	for _, id := range kept {
		for {
			st, err := admin.StatusFromEvents(context.Background(), id)
			if err == nil && st.State == bus.StateCancelled {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s, accepted by a kernel still up, is %q (%v) 20 s after the revocation", id, st.State, err)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	for _, id := range left {
		for {
			st, err := admin.StatusFromEvents(context.Background(), id)
			if err == nil && st.State == bus.StateCancelled {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("20 s after its owner's credential was revoked, task %s (accepted by %s, now stopped) is %q (%v): still queued for the next worker of its pool", id, down.ServerName, st.State, err)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
}
