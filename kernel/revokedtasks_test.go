package kernel_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A stolen client credential queues work for a pool that will be served
// later (or is busy), and is then revoked. Its connections are cut off,
// and what it queued must not start either: the kernel cancels the
// revoked owner's tasks, saying why, while another owner's stay queued.
func TestAttackRevokedCredentialsQueuedTasksStillStart(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = k.TaskAPI().Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	stolen := k.Creds(kernel.UserSpec{Name: "stolen", Role: kernel.RoleClient})
	thief := &client.Client{NC: k.ConnectAs(stolen), ViaAPI: true}
	other := &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Name: "bystander", Role: kernel.RoleClient})), ViaAPI: true}
	submit := func(c *client.Client) string {
		t.Helper()
		for {
			task, _, err := c.Submit(context.Background(), bus.Task{Command: "echo later", Pool: "later"})
			if err == nil {
				return task.ID
			}
			if !errors.Is(err, client.ErrUnavailable) {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond) // the service is still starting
		}
	}
	left := []string{submit(thief), submit(thief)}
	kept := submit(other)

	revokeCreds(t, k, stolen)

	admin := &client.Client{NC: k.NC, JS: k.JS}
	deadline := time.Now().Add(time.Minute)
	for _, id := range left {
		for {
			st, err := admin.Status(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if st.State == bus.StateCancelled {
				if !strings.Contains(st.Error, "revoked") {
					t.Errorf("task %s cancelled saying %q; want why (its owner's credential was revoked)", id, st.Error)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a revoked owner's task %s is still %s a minute after the revocation", id, st.State)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if st, err := admin.Status(context.Background(), kept); err != nil || st.State != bus.StateQueued {
		t.Fatalf("another owner's task after the revocation: %+v %v; want queued", st, err)
	}
}

// revokeCreds revokes the credential file creds on k's running kernel,
// as `amf auth revoke` does: the account's revocations are pushed to it.
func revokeCreds(t *testing.T, k *kerneltest.Kernel, creds string) {
	t.Helper()
	keys, err := k.Authority().Resolve(creds)
	if err != nil {
		t.Fatal(err)
	}
	accJWT, err := k.Authority().Revoke(keys...)
	if err != nil {
		t.Fatal(err)
	}
	sys := k.ConnectAs(filepath.Join(k.Authority().Dir, kernel.SystemCredsFile))
	if _, err := sys.Request("$SYS.REQ.ACCOUNT."+k.Authority().AccountKey()+".CLAIMS.UPDATE", []byte(accJWT), 10*time.Second); err != nil {
		t.Fatal(err)
	}
}
