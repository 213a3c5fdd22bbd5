package schedule_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// createOn makes a schedule with a request on subject, as a client
// credential or a bridge does, and fails the test on a refusal.
func createOn(t *testing.T, nc *nats.Conn, subject, body string) {
	t.Helper()
	msg, err := nc.Request(subject, []byte(body), 10*time.Second)
	if err != nil {
		t.Fatalf("create on %s: %v", subject, err)
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		t.Fatalf("create on %s: %s %s", subject, code, msg.Header.Get("Nats-Service-Error"))
	}
}

// revoke revokes the credential in creds as `amf auth revoke` does: the
// account JWT with its key revoked, pushed to the running kernel.
func revoke(t *testing.T, f *fleet, creds string) {
	t.Helper()
	keys, err := f.k.Authority().Resolve(creds)
	if err != nil {
		t.Fatal(err)
	}
	accJWT, err := f.k.Authority().Revoke(keys...)
	if err != nil {
		t.Fatal(err)
	}
	sys := f.k.ConnectAs(filepath.Join(f.k.Authority().Dir, kernel.SystemCredsFile))
	if _, err := sys.Request("$SYS.REQ.ACCOUNT."+f.k.Authority().AccountKey()+".CLAIMS.UPDATE", []byte(accJWT), 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// noMoreRuns waits three runs of a clock schedule made now, during which
// schedule id must not run, then checks that the kernel paused it saying
// its owner was revoked.
func noMoreRuns(t *testing.T, f *fleet, clock, id string) {
	t.Helper()
	// Runs published before the revocation may still be in flight until
	// the clock's first run.
	f.create(t, `{"id":"`+clock+`","command":"true","schedule":"every 1s"}`)
	f.nextOf(t, clock)
	for range 3 {
		f.nextOf(t, clock, id)
	}
	sc, err := f.k.ScheduleStore(f.k.JS).Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Paused || !strings.Contains(sc.PausedWhy, "revoked") {
		t.Fatalf("schedule %s after its owner's revocation: paused %v, why %q; want paused saying its owner was revoked", id, sc.Paused, sc.PausedWhy)
	}
}

// A client credential may make a schedule on its owner's subject
// (amf.api.as.nats:<id>.schedules.create), where it records no maker key:
// revoking the credential must still stop it, since the schedule is its
// owner's only for as long as the owner may act.
func TestAttackScheduleMadeOnTheOwnersSubjectOutlivesRevocation(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	creds := f.k.Creds(kernel.UserSpec{Name: "attack-leaver", Role: kernel.RoleClient})
	nc := f.k.ConnectAs(creds)
	owner := bus.OwnerOfCredential(bus.CredentialID(client.UserKey(nc)))
	createOn(t, nc, bus.Names{}.As(owner, "schedules.create"), `{"id":"attack-owners-left-behind","command":"true","schedule":"every 1s"}`)
	f.nextOf(t, "attack-owners-left-behind")

	revoke(t, f, creds)
	noMoreRuns(t, f, "attack-clock-owner", "attack-owners-left-behind")
}

// An HTTP token's schedule (the bridge makes it on the token's owner
// subject) must stop once the token is revoked (`amf auth token revoke`
// purges its record): a leaked token, revoked, must leave nothing
// running as it.
func TestAttackTokensScheduleOutlivesTheTokensRevocation(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	ctx := context.Background()
	st, err := tokens.Open(ctx, f.k.JS, bus.Names{}, true)
	if err != nil {
		t.Fatal(err)
	}
	_, rec, err := st.Create(ctx, tokens.DefaultScopes, nil, "leaked")
	if err != nil {
		t.Fatal(err)
	}
	owner := bus.OwnerOfToken(rec.ID)
	// The bridge's request, for the token that asked.
	createOn(t, f.k.NC, bus.Names{}.As(owner, "schedules.create"), `{"id":"attack-token-left-behind","command":"true","schedule":"every 1s"}`)
	f.nextOf(t, "attack-token-left-behind")

	if err := st.Revoke(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	noMoreRuns(t, f, "attack-clock-token", "attack-token-left-behind")
}

// A token that is not revoked keeps its schedule running: the check
// reads the token's record, it does not stop every token's schedules.
func TestATokensScheduleRunsWhileTheTokenLives(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	ctx := context.Background()
	st, err := tokens.Open(ctx, f.k.JS, bus.Names{}, true)
	if err != nil {
		t.Fatal(err)
	}
	_, rec, err := st.Create(ctx, tokens.DefaultScopes, nil, "kept")
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := st.Create(ctx, tokens.DefaultScopes, nil, "revoked")
	if err != nil {
		t.Fatal(err)
	}
	createOn(t, f.k.NC, bus.Names{}.As(bus.OwnerOfToken(rec.ID), "schedules.create"), `{"id":"token-kept","command":"true","schedule":"every 1s"}`)
	if err := st.Revoke(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.nextOf(t, "token-kept")
	}
}

// A revocation made while the kernel was down (the authority's
// account.jwt written, nothing pushed) stops the owner's schedules once
// the kernel is back: the kernel reads the revocations it starts with,
// not an event it could have missed.
func TestAttackRevokedWhileTheKernelWasDown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := start(t, dir)
	creds := f.k.Creds(kernel.UserSpec{Name: "attack-offline", Role: kernel.RoleClient})
	nc := f.k.ConnectAs(creds)
	owner := bus.OwnerOfCredential(bus.CredentialID(client.UserKey(nc)))
	createOn(t, nc, bus.Names{}.As(owner, "schedules.create"), `{"id":"attack-offline-left","command":"true","schedule":"every 1s"}`)
	f.nextOf(t, "attack-offline-left")
	keys, err := f.k.Authority().Resolve(creds)
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	f.k.Stop()
	if _, err := f.k.Authority().Revoke(keys...); err != nil {
		t.Fatal(err)
	}

	g := start(t, dir)
	noMoreRuns(t, g, "attack-clock-offline", "attack-offline-left")
}
