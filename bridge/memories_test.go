package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	store, v := openTokens(t, k.JS)
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
	// Serve adds the service once the index has caught up, after
	// CaughtUp closes: until then the bridge answers 503.
	a := f.do(t, nil, http.MethodPost, "/v1/memories/0123456789abcdef0123/confirm", admin, "", nil)
	for ; a.status == http.StatusServiceUnavailable && ctx.Err() == nil; a = f.do(t, nil, http.MethodPost, "/v1/memories/0123456789abcdef0123/confirm", admin, "", nil) {
		time.Sleep(20 * time.Millisecond)
	}
	if a.status != http.StatusNotFound || !strings.Contains(a.msg, "no memory has id") {
		t.Fatalf("unknown memory: %+v", a)
	}

	// What a confirmation of id vouches for, shown whole before it.
	if a := f.do(t, nil, http.MethodGet, "/v1/memories/"+id, f.token(t, "read", ""), "", nil); a.status != http.StatusForbidden || !strings.Contains(a.msg, "admin") {
		t.Fatalf("GET /v1/memories/{id} without the admin scope: %+v", a)
	}
	if a := f.do(t, nil, http.MethodGet, "/v1/memories/0123456789abcdef0123", admin, "", nil); a.status != http.StatusNotFound {
		t.Fatalf("GET /v1/memories/{id} of an unknown memory: %+v", a)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/v1/memories/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var shown memory.Match
	err = json.NewDecoder(resp.Body).Decode(&shown)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || shown.ID != id || shown.Command != "logrotate -f /etc/logrotate.d/nginx" || shown.ConfirmedBy != "" {
		t.Fatalf("GET /v1/memories/{id}: %d %+v %v, want the memory whole, not yet confirmed", resp.StatusCode, shown, err)
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

// TestAttackMemoriesOverHTTPAreTheTokensOwn: GET /v1/memories, searched
// (?q=) or listed, answers a token with its owner's memories and the
// shared ones only: token B asking the very instruction token A's tasks
// taught gets nothing of A's; read-all and admin tokens see every owner's.
func TestAttackMemoriesOverHTTPAreTheTokensOwn(t *testing.T) {
	k := kerneltest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	store, v := openTokens(t, k.JS)
	nc := k.ConnectAs(k.Creds(kernel.UserSpec{Role: kernel.RoleBridge}))
	s := &bridge.Server{NC: nc, Tokens: v, Logger: kerneltest.Logger(t)}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	f := &authFixture{url: ts.URL, store: store, handler: h}
	token := func(scope tokens.Scope) (string, bus.Owner) {
		tok, rec, err := store.Create(ctx, []tokens.Scope{scope}, nil, "memories "+string(scope))
		if err != nil {
			t.Fatal(err)
		}
		return tok, bus.OwnerOfToken(rec.ID)
	}
	alice, aliceOwner := token(tokens.ScopeRead)
	bob, _ := token(tokens.ScopeRead)
	dashboard, _ := token(tokens.ScopeReadAll)
	admin, _ := token(tokens.ScopeAdmin)

	kn, err := knowledge.Open(ctx, k.JS, knowledge.Config{Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer kn.Close()
	stop := knowledge.Serve(ctx, k.NC, bus.Names{}, kn)
	defer stop()
	const instr = "show the salaries in ~/hr/payroll-2026.csv"
	const cmd = "column -s, -t ~/hr/payroll-2026.csv"
	if _, err := kn.Learn(ctx, bus.Learned{Instruction: instr, Command: cmd, TaskID: "t1", Owner: aliceOwner}); err != nil {
		t.Fatal(err)
	}
	if err := kn.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	get := func(tok, path string) string {
		t.Helper()
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK:
				return string(body)
			case resp.StatusCode != http.StatusServiceUnavailable || ctx.Err() != nil:
				t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
			}
			time.Sleep(20 * time.Millisecond) // until the worker's service is up
		}
	}
	search := "/v1/memories?q=" + url.QueryEscape(instr)
	for _, path := range []string{search, "/v1/memories"} {
		if body := get(bob, path); strings.Contains(body, "payroll") {
			t.Fatalf("token B read token A's memory on GET %s: %s", path, body)
		}
		for name, tok := range map[string]string{"A": alice, "read-all": dashboard, "admin": admin} {
			if body := get(tok, path); !strings.Contains(body, cmd) {
				t.Fatalf("token %s on GET %s: %s, want A's memory", name, path, body)
			}
		}
	}
	if a := f.do(t, nil, http.MethodGet, "/v1/memories?q=x&k=many", bob, "", nil); a.status != http.StatusBadRequest || !strings.Contains(a.msg, "not a number") {
		t.Fatalf("k=many: %+v", a)
	}
}
