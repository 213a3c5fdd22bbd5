package tokens_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A record that reaches the bridge's token watch without being in the
// bucket grants nothing: here a push consumer of the events stream
// points at the watch's inbox and feeds it a forged admin token record,
// as an attacker who learned the inbox and could make consumers would.
// (No client, bridge or worker credential may make one on the events
// stream any more: kernel/api/readers_attack_test.go. The check stays.)
func TestVerifierIgnoresRecordsTheBucketDoesNotHold(t *testing.T) {
	k := kerneltest.Start(t)
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bjs, err := jetstream.New(k.ConnectAs(k.Creds(kernel.UserSpec{Name: "forge-bridge", Role: kernel.RoleBridge})))
	if err != nil {
		t.Fatal(err)
	}
	bst, err := tokens.Open(ctx, bjs, names, false)
	if err != nil {
		t.Fatal(err)
	}
	v, err := bst.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Stop()

	// The watch's inbox (the attack learned it from idle heartbeats).
	kvs, err := k.JS.Stream(ctx, "KV_"+names.TokensBucket())
	if err != nil {
		t.Fatal(err)
	}
	var inbox string
	for c := range kvs.ListConsumers(ctx).Info() {
		if c.Config.DeliverSubject != "" {
			inbox = c.Config.DeliverSubject
		}
	}
	if inbox == "" {
		t.Fatal("no push consumer follows the token bucket")
	}

	token, rec, err := tokens.Generate([]tokens.Scope{tokens.ScopeAdmin}, nil, "forged")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(rec)
	// The watch takes the key from the subject past "$KV.<bucket>.".
	eventsPrefix := names.Events()[:len(names.Events())-1]
	pad := len("$KV."+names.TokensBucket()+".") - len(eventsPrefix)
	forged := eventsPrefix + "xxxxxxxxxxxxxxxx"[:pad] + rec.ID

	ajs := k.JS
	if _, err := ajs.CreateOrUpdateConsumer(ctx, names.EventsStream(), jetstream.ConsumerConfig{
		Durable: "forge", DeliverSubject: inbox, FilterSubject: forged,
		AckPolicy: jetstream.AckNonePolicy, DeliverPolicy: jetstream.DeliverNewPolicy,
	}); err != nil {
		t.Fatalf("create the injecting consumer: %v", err)
	}
	if _, err := ajs.Publish(ctx, forged, body); err != nil {
		t.Fatal(err)
	}
	for v.Applied() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the forged record never reached the watch")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r, err := v.Verify(token); !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("a forged record was accepted: %+v, %v", r, err)
	}

	// A real token still works at once.
	st, err := tokens.Open(ctx, k.JS, names, false)
	if err != nil {
		t.Fatal(err)
	}
	real, _, err := st.Create(ctx, []tokens.Scope{tokens.ScopeRead}, nil, "real")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(real); err != nil {
		t.Fatalf("a stored token is refused: %v", err)
	}
}
