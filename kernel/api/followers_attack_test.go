package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A worker credential follows the memory stream only through a consumer
// the kernel makes into its own inbox: it cannot make one itself, cannot
// have the kernel deliver into another worker's inbox or onto the events
// stream's subjects, cannot ask in another worker's name or on the
// operators' subject, and cannot close another worker's follower; a
// client credential cannot ask at all. The victim still follows and
// learns what the attacker publishes.
func TestWorkersFollowMemoryOnlyThroughTheKernel(t *testing.T) {
	t.Parallel()
	k, admin := setup(t)
	serveService(t, &api.Service{Client: admin})
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	victim := connectAs(t, k, kernel.UserSpec{Name: "victim", Role: kernel.RoleWorker})
	mallory := connectAs(t, k, kernel.UserSpec{Name: "mallory", Role: kernel.RoleWorker})
	alice := connectAs(t, k, kernel.UserSpec{Name: "alice", Role: kernel.RoleClient})

	// The victim's follower, as its knowledge base opens it.
	vc := &client.Client{NC: victim.nc, Names: names, ViaAPI: true}
	vinbox := victim.nc.NewInbox()
	vsub, err := victim.nc.SubscribeSync(vinbox)
	if err != nil {
		t.Fatal(err)
	}
	vcons, err := vc.OpenFollower(ctx, 0, vinbox)
	if err != nil {
		t.Fatalf("a worker asks the kernel for its follower: %v", err)
	}
	if !strings.HasPrefix(vcons, bus.FollowerNamePrefix(victim.key)) {
		t.Fatalf("the victim's follower is named %q", vcons)
	}

	// Making a consumer on the memory stream itself, push onto the
	// events stream's subjects: refused by the server, bare or named.
	hijack, _ := json.Marshal(map[string]any{"stream_name": names.MemoryStream(), "config": map[string]any{
		"name": "mal", "ack_policy": "none", "deliver_subject": names.EventBy("victims-task", bus.DefaultPool, "forged"),
	}})
	for _, subject := range []string{
		"$JS.API.CONSUMER.CREATE." + names.MemoryStream(),
		"$JS.API.CONSUMER.CREATE." + names.MemoryStream() + ".mal",
		"$JS.API.CONSUMER.DURABLE.CREATE." + names.MemoryStream() + ".mal",
		"$JS.API.CONSUMER.DELETE." + names.MemoryStream() + "." + vcons,
	} {
		if _, err := kerneltest.Ask(mallory.nc, subject, hijack, nil, time.Minute); !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("a worker credential: %s was not refused by the server (%v)", subject, err)
		}
	}

	// Asking the kernel to deliver elsewhere than its own inbox.
	for _, deliver := range []string{
		bus.InboxPrefix(victim.key) + ".stolen",                  // the victim's inbox
		names.EventBy("victims-task", bus.DefaultPool, "forged"), // the events stream
		names.Control("victims-task"),                            // a worker's control subject
		bus.InboxPrefix(mallory.key),                             // its prefix, no subject of it
		bus.InboxPrefix(mallory.key) + ".>",                      // a wildcard under it
	} {
		req, _ := json.Marshal(bus.FollowerRequest{Deliver: deliver})
		msg, err := mallory.nc.Request(names.FollowersOpen(mallory.key), req, 10*time.Second)
		if err != nil || msg.Header.Get("Nats-Service-Error-Code") == "" {
			t.Errorf("the kernel made a follower delivering onto %s: %v %v", deliver, err, msg)
		}
	}
	// Asking in the victim's name, and on the operators' subject.
	req, _ := json.Marshal(bus.FollowerRequest{Deliver: bus.InboxPrefix(victim.key) + ".stolen"})
	for _, subject := range []string{names.FollowersOpen(victim.key), names.FollowersOpen("")} {
		if _, err := kerneltest.Ask(mallory.nc, subject, req, nil, time.Minute); !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("a worker asked on %s: %v", subject, err)
		}
	}
	// A client credential has no follower at all.
	req, _ = json.Marshal(bus.FollowerRequest{Deliver: alice.nc.NewInbox()})
	if _, err := kerneltest.Ask(alice.nc, names.FollowersOpen(alice.key), req, nil, time.Minute); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("a client credential asked for a memory follower: %v", err)
	}
	// Closing the victim's follower through its own subject.
	closeReq, _ := json.Marshal(bus.FollowerClose{Consumer: vcons})
	msg, err := mallory.nc.Request(names.FollowersClose(mallory.key), closeReq, 10*time.Second)
	if err != nil || msg.Header.Get("Nats-Service-Error-Code") != "404" {
		t.Errorf("a worker closed another's follower: %v %v", err, msg)
	}

	// Nothing the attacker asked for was made, and the victim's
	// follower is still there.
	mem, err := k.JS.Stream(ctx, names.MemoryStream())
	if err != nil {
		t.Fatal(err)
	}
	lister := mem.ConsumerNames(ctx)
	var made []string
	for name := range lister.Name() {
		if !bus.IsVoucherName(name) { // the kernel's own (kernel/vouch)
			made = append(made, name)
		}
	}
	if fmt.Sprint(made) != fmt.Sprint([]string{vcons}) {
		t.Errorf("consumers on %s: %v, want only the victim's %s", names.MemoryStream(), made, vcons)
	}

	// The victim learns what the attacker publishes on its own subject.
	mjs, err := jetstream.New(mallory.nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mjs.Publish(ctx, names.LearnedBy(bus.CredentialID(mallory.key)), []byte(`{"instruction":"x","command":"true"}`)); err != nil {
		t.Fatalf("a worker publishes a memory: %v", err)
	}
	got := nextDelivery(t, ctx, vsub)
	if want := names.LearnedBy(bus.CredentialID(mallory.key)); got.Subject != want {
		t.Fatalf("the victim's follower delivered %s, want %s", got.Subject, want)
	}
}

// One worker credential holding as many memory stream followers as the
// kernel allows is refused another, with the limit named, while another
// worker still opens one and follows; closing one makes room again.
func TestFollowersAreCappedPerCredential(t *testing.T) {
	t.Parallel()
	k, admin := setup(t)
	const limit = 2
	serveService(t, &api.Service{Client: admin, FollowersPerCredential: limit})
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	greedy := connectAs(t, k, kernel.UserSpec{Name: "greedy", Role: kernel.RoleWorker})
	other := connectAs(t, k, kernel.UserSpec{Name: "other", Role: kernel.RoleWorker})
	gc := &client.Client{NC: greedy.nc, Names: names, ViaAPI: true}
	// Each held follower's inbox is listened to, so the server never
	// deletes one for inactivity: only a close makes room.
	listened := func() string {
		inbox := greedy.nc.NewInbox()
		if _, err := greedy.nc.SubscribeSync(inbox); err != nil {
			t.Fatal(err)
		}
		return inbox
	}
	var held []string
	for i := range limit {
		name, err := gc.OpenFollower(ctx, 0, listened())
		if err != nil {
			t.Fatalf("follower %d of %d: %v", i+1, limit, err)
		}
		held = append(held, name)
	}
	_, err := gc.OpenFollower(ctx, 0, listened())
	if !errors.Is(err, client.ErrTooManyFollowers) || !strings.Contains(err.Error(), "--followers-per-credential") || !strings.Contains(err.Error(), fmt.Sprint(limit)) {
		t.Fatalf("follower %d: %v, want a refusal naming the limit", limit+1, err)
	}
	oc := &client.Client{NC: other.nc, Names: names, ViaAPI: true}
	inbox := other.nc.NewInbox()
	sub, err := other.nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oc.OpenFollower(ctx, 0, inbox); err != nil {
		t.Fatalf("another worker is refused while one is at its limit: %v", err)
	}
	if _, err := k.JS.Publish(ctx, names.MemoryFailed(), []byte(`{"id":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if got := nextDelivery(t, ctx, sub); got.Subject != names.MemoryFailed() {
		t.Fatalf("the other worker's follower delivered %s", got.Subject)
	}
	// Closing one makes room.
	gc.LetGoFollower(held[0])
	for {
		name, err := gc.OpenFollower(ctx, 0, listened())
		if err == nil {
			gc.LetGoFollower(name)
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no room after closing a follower: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nextDelivery is the next stream message on sub, past heartbeats and
// the kernel's vouching.
func nextDelivery(t *testing.T, ctx context.Context, sub *nats.Subscription) *nats.Msg {
	t.Helper()
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			t.Fatalf("no delivery: %v", err)
		}
		// Past heartbeats, and the kernel's vouching marker and
		// verdicts (kernel/vouch), which every follower gets too.
		names := bus.Names{}
		if msg.Header.Get("Status") == "" && msg.Subject != names.MemoryVouching() && msg.Subject != names.MemoryVouched() {
			return msg
		}
	}
}
