package api_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

func TestServiceSubmitUsesTheHeaderID(t *testing.T) {
	t.Parallel()
	k, c := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	svc := &api.Service{Client: c}
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	submit := func(body string) (client.Submitted, string) {
		t.Helper()
		msg := &nats.Msg{Subject: bus.Names{}.API() + ".submit", Data: []byte(body), Header: nats.Header{}}
		msg.Header.Set(bus.HeaderMsgID, "from-header")
		for {
			reply, err := k.NC.RequestMsg(msg, 10*time.Second)
			if err == nats.ErrNoResponders {
				time.Sleep(10 * time.Millisecond) // the service is still starting
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			var s client.Submitted
			_ = json.Unmarshal(reply.Data, &s)
			return s, reply.Header.Get("Nats-Service-Error")
		}
	}
	s, errText := submit(`{"command":"echo hi"}`)
	if errText != "" || s.ID != "from-header" || s.Duplicate {
		t.Fatalf("first submit: %+v %q", s, errText)
	}
	s, errText = submit(`{"command":"echo hi"}`)
	if errText != "" || s.ID != "from-header" || !s.Duplicate {
		t.Fatalf("second submit: %+v %q, want a duplicate", s, errText)
	}
	if _, errText = submit(`{"command":"echo hi","colour":"red"}`); errText == "" {
		t.Fatal("an invalid task was not refused")
	}
}
