package bridge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// TestConfirmMemoryOverHTTP: POST /v1/memories/{id}/confirm needs a token
// with the admin scope; through a bridge holding a bridge credential it
// reaches a worker's memory service, and the memory is then reused
// blindly after a single success.
func TestConfirmMemoryOverHTTP(t *testing.T) {
	k := kerneltest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := tokens.Open(ctx, k.JS, bus.Names{}, true)
	if err != nil {
		t.Fatal(err)
	}
	v, err := store.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Stop)
	nc := k.ConnectAs(k.Creds(kernel.UserSpec{Role: kernel.RoleBridge}))
	s := &bridge.Server{NC: nc, Tokens: v, Logger: kerneltest.Logger(t)}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	f := &authFixture{url: ts.URL, store: store, handler: h}

	kn, err := knowledge.Open(ctx, k.JS, knowledge.Config{Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer kn.Close()
	stop := knowledge.Serve(ctx, k.NC, bus.Names{}, kn)
	defer stop()
	const instr = "rotate the nginx logs"
	id, err := kn.Learn(ctx, bus.Learned{Instruction: instr, Command: "logrotate -f /etc/logrotate.d/nginx", TaskID: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := kn.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	<-kn.CaughtUp()

	path := "/v1/memories/" + id + "/confirm"
	if a := f.do(t, nil, http.MethodPost, path, f.token(t, "submit,read,cancel", ""), "", nil); a.status != http.StatusForbidden || !strings.Contains(a.msg, "admin") {
		t.Fatalf("without the admin scope: %+v", a)
	}
	admin := f.token(t, "admin", "")
	if a := f.do(t, nil, http.MethodPost, "/v1/memories/0123456789abcdef0123/confirm", admin, "", nil); a.status != http.StatusNotFound || !strings.Contains(a.msg, "no memory has id") {
		t.Fatalf("unknown memory: %+v", a)
	}

	var m memory.Match
	for i := 0; ; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		status := resp.StatusCode
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if status == http.StatusOK {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		// The worker adds its service once its index caught up.
		if status != http.StatusServiceUnavailable || ctx.Err() != nil {
			t.Fatalf("confirm: %d", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m.ID != id || !strings.HasPrefix(m.ConfirmedBy, "http:token ") {
		t.Fatalf("confirmed memory = %+v", m)
	}
	if err := kn.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ms, err := kn.Recall(ctx, "", instr, memory.HostFacts{}, 1)
	if err != nil || len(ms) != 1 || !ms[0].Reuse {
		t.Fatalf("after the confirmation: %+v %v", ms, err)
	}
}
