package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// A credential with the read-all right streams every owner's events, into
// its own inbox, and is capped like any owner; a credential without the
// right cannot ask on its subject, nor deliver another's task anywhere.
func TestReadAllCredentialStreamsEveryOwner(t *testing.T) {
	t.Parallel()
	k, admin := setup(t)
	const limit = 2
	serve(t, admin, limit)
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice := connectAs(t, k, kernel.UserSpec{Name: "alice", Role: kernel.RoleClient})
	dashboard := connectAs(t, k, kernel.UserSpec{Name: "dashboard", Role: kernel.RoleClient, ReadAll: true})
	mallory := connectAs(t, k, kernel.UserSpec{Name: "mallory", Role: kernel.RoleClient})
	ownedTask(t, k.JS, "alices", alice.owner(), bus.EventAssigned, bus.EventDone)

	dc := &client.Client{NC: dashboard.nc, Names: names, ViaAPI: true}
	var types []bus.EventType
	if err := dc.Watch(ctx, "alices", 0, true, func(e bus.Event) error { types = append(types, e.Type); return nil }); err != nil || fmt.Sprint(types) != "[accepted assigned done]" {
		t.Fatalf("read-all streams alice's task: %v %v", types, err)
	}

	// Without the right, the subject is refused by the server.
	subject := names.ReadersOpenAll(mallory.key)
	req, _ := json.Marshal(bus.ReaderRequest{Task: "alices", Deliver: mallory.nc.NewInbox()})
	if _, err := mallory.nc.Request(subject, req, 500*time.Millisecond); err == nil || !mallory.refused(subject) {
		t.Errorf("a client without read-all asked on %s: %v", subject, err)
	}
	// With it, still only into its own inbox.
	req, _ = json.Marshal(bus.ReaderRequest{Task: "alices", Deliver: bus.InboxPrefix(mallory.key) + ".given"})
	msg, err := dashboard.nc.Request(names.ReadersOpenAll(dashboard.key), req, 5*time.Second)
	if err != nil || msg.Header.Get("Nats-Service-Error-Code") != "403" {
		t.Errorf("read-all delivering into another's inbox: %v %v", err, msg)
	}

	// Reading everything is no licence to hold every consumer (the
	// watch above may still hold one while its close is on its way).
	var open []*client.Stream
	for len(open) <= limit {
		st, err := dc.Open(ctx, "alices", 0, true)
		if errors.Is(err, client.ErrTooManyReaders) {
			break
		}
		if err != nil {
			t.Fatalf("stream %d: %v", len(open)+1, err)
		}
		open = append(open, st)
	}
	if len(open) > limit {
		t.Fatalf("read-all opened %d streams, the limit per owner is %d", len(open), limit)
	}
	for _, st := range open {
		readOne(t, ctx, st)
	}
}
