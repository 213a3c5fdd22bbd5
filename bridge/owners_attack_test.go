package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/internal/ssetest"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory/cache"
)

// ownersFixture is a kernel with its hot cache, status projector and task
// API, and a bridge deployed as `amf up` runs it (the kernel's own
// connection) or as `amf bridge` does (a bridge credential); both submit
// through the task API.
type ownersFixture struct {
	*authFixture
}

func newOwnersFixture(t *testing.T, standalone bool, svcOpts ...func(*api.Service)) *ownersFixture {
	t.Helper()
	k := kerneltest.StartWith(t, kernel.Server{
		OpenCache: func(ctx context.Context, nc *nats.Conn) (kernel.Cache, error) {
			js, err := jetstream.New(nc)
			if err != nil {
				return nil, err
			}
			return cache.NewKVCache(ctx, js)
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	hot, err := cache.NewKVCache(ctx, k.JS)
	if err != nil {
		t.Fatal(err)
	}
	svc := &api.Service{Client: &client.Client{NC: k.NC, JS: k.JS, Cache: hot}, Recent: hot, Schedules: k.ScheduleStore(k.JS)}
	for _, o := range svcOpts {
		o(svc)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	store, v := openTokens(t, k.JS)
	nc := k.NC
	if standalone {
		nc = k.ConnectAs(k.Creds(kernel.UserSpec{Name: "owners-bridge", Role: kernel.RoleBridge}))
	}
	s := &bridge.Server{NC: nc, Tokens: v, Recent: hot, Workers: hot, Logger: kerneltest.Logger(t),
		Client: &client.Client{NC: nc, Cache: hot, ViaAPI: true}}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &ownersFixture{&authFixture{url: ts.URL, store: store, handler: h}}
}

// user issues a token and returns it with the owner its work gets.
func (f *ownersFixture) user(t *testing.T, scopes string) (string, bus.Owner) {
	t.Helper()
	sc, err := tokens.ParseScopes(scopes)
	if err != nil {
		t.Fatal(err)
	}
	tok, rec, err := f.store.Create(context.Background(), sc, nil, "owners "+scopes)
	if err != nil {
		t.Fatal(err)
	}
	return tok, bus.OwnerOfToken(rec.ID)
}

// body does a request and decodes its JSON answer into out.
func (f *ownersFixture) body(t *testing.T, method, path, token, body string, want int, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, raw, err)
		}
	}
}

// listedIDs waits until token's GET /v1/tasks holds id, and returns it.
func (f *ownersFixture) listed(t *testing.T, token, id string) []bus.Status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var l struct{ Tasks []bus.Status }
		f.body(t, "GET", "/v1/tasks?limit=1000", token, "", http.StatusOK, &l)
		if slices.ContainsFunc(l.Tasks, func(s bus.Status) bool { return s.ID == id }) {
			return l.Tasks
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never listed: %+v", id, l.Tasks)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// One token attacks another's tasks over HTTP, on both deployments of
// the bridge: listing, reading, cancelling, continuing its session and
// naming the victim as owner in the body all miss.
func TestOwnersOverHTTP(t *testing.T) {
	for _, standalone := range []bool{false, true} {
		name := map[bool]string{false: "amf up", true: "amf bridge"}[standalone]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newOwnersFixture(t, standalone)
			victim, victimOwner := f.user(t, "submit,read,cancel")
			attacker, attackerOwner := f.user(t, "submit,read,cancel")
			dashboard, _ := f.user(t, "read-all")

			var secret struct{ ID string }
			f.body(t, "POST", "/v1/tasks", victim, `{"command":"cat notes.txt","pool":"idle","session":"victim-notes"}`, http.StatusAccepted, &secret)
			var st bus.Status
			f.body(t, "GET", "/v1/tasks/"+secret.ID, victim, "", http.StatusOK, &st)
			if st.Owner != victimOwner {
				t.Fatalf("victim's task owner %q, want %q", st.Owner, victimOwner)
			}

			// Reading and cancelling miss exactly as an unknown id does.
			for _, method := range []string{"GET", "DELETE"} {
				a, unknown := f.do(t, nil, method, "/v1/tasks/"+secret.ID, attacker, "", nil), f.do(t, nil, method, "/v1/tasks/no-such-task", attacker, "", nil)
				if a.status != http.StatusNotFound || a.code != unknown.code || strings.ReplaceAll(a.msg, secret.ID, "no-such-task") != unknown.msg {
					t.Fatalf("attacker %s: %d %s %q; an unknown id: %d %s %q", method, a.status, a.code, a.msg, unknown.status, unknown.code, unknown.msg)
				}
			}

			// A task whose body names the victim is the attacker's own, and
			// the session it names is the attacker's session of that name.
			var forged struct{ ID string }
			f.body(t, "POST", "/v1/tasks", attacker, `{"command":"cat notes.txt; echo x > pwned.txt","pool":"idle","session":"victim-notes","owner":"`+string(victimOwner)+`"}`, http.StatusAccepted, &forged)
			f.body(t, "GET", "/v1/tasks/"+forged.ID, attacker, "", http.StatusOK, &st)
			if st.Owner != attackerOwner {
				t.Fatalf("forged task owner %q, want the attacker's %q", st.Owner, attackerOwner)
			}
			f.body(t, "GET", "/v1/tasks/"+forged.ID, victim, "", http.StatusNotFound, nil)

			// Listing: each sees its own only; read-all sees both.
			for _, s := range f.listed(t, attacker, forged.ID) {
				if s.Owner != attackerOwner {
					t.Fatalf("attacker lists another owner's task: %+v", s)
				}
			}
			for _, s := range f.listed(t, victim, secret.ID) {
				if s.Owner != victimOwner {
					t.Fatalf("victim lists another owner's task: %+v", s)
				}
			}
			f.listed(t, dashboard, secret.ID)
			f.listed(t, dashboard, forged.ID)
			f.body(t, "GET", "/v1/tasks/"+secret.ID, dashboard, "", http.StatusOK, nil)
			// Read-all streams another owner's events too; the attacker's
			// stream of them misses like an unknown task's.
			if ev := firstEvent(t, f.url+"/v1/tasks/"+secret.ID+"/events", dashboard); ev != string(bus.EventAccepted) {
				t.Fatalf("read-all streams the victim's task: first event %q, want accepted", ev)
			}
			f.body(t, "GET", "/v1/tasks/"+secret.ID+"/events", attacker, "", http.StatusNotFound, nil)

			// Schedules: another's is not there to pause or delete.
			f.body(t, "POST", "/v1/schedules", victim, `{"id":"victim-nightly","command":"true","pool":"idle","schedule":"every 1h"}`, http.StatusCreated, nil)
			f.body(t, "POST", "/v1/schedules/victim-nightly/pause", attacker, "", http.StatusNotFound, nil)
			f.body(t, "DELETE", "/v1/schedules/victim-nightly", attacker, "", http.StatusNotFound, nil)
			var scs []bus.Schedule
			f.body(t, "GET", "/v1/schedules", attacker, "", http.StatusOK, &scs)
			if len(scs) != 0 {
				t.Fatalf("attacker lists schedules %+v", scs)
			}
			var sc bus.Schedule
			f.body(t, "GET", "/v1/schedules/victim-nightly", victim, "", http.StatusOK, &sc)
			if sc.Paused || sc.Task.Owner != victimOwner {
				t.Fatalf("victim's schedule: %+v", sc)
			}

			// The owner still may.
			f.body(t, "DELETE", "/v1/tasks/"+secret.ID, victim, "", http.StatusAccepted, nil)
		})
	}
}

// One token floods tasks for a pool nobody serves: past its quota it is
// answered 429 naming the limit, while another token's submissions go on.
func TestQuotaOverHTTP(t *testing.T) {
	for _, standalone := range []bool{false, true} {
		name := map[bool]string{false: "amf up", true: "amf bridge"}[standalone]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newOwnersFixture(t, standalone, func(s *api.Service) { s.Quota = api.Quota{Tasks: 5} })
			victim, _ := f.user(t, "submit,read")
			attacker, _ := f.user(t, "submit,read")
			for range 5 {
				f.body(t, "POST", "/v1/tasks", attacker, `{"command":"true","pool":"nobody"}`, http.StatusAccepted, nil)
			}
			a := f.do(t, nil, "POST", "/v1/tasks", attacker, `{"command":"true","pool":"nobody"}`, nil)
			if a.status != http.StatusTooManyRequests || a.code != "quota" || !strings.Contains(a.msg, "quota reached: tasks") || !strings.Contains(a.msg, "AMF_QUOTA_TASKS") {
				t.Fatalf("past the quota: %d %s %q; want 429 quota naming the limit", a.status, a.code, a.msg)
			}
			f.body(t, "POST", "/v1/tasks", victim, `{"command":"true","pool":"nobody"}`, http.StatusAccepted, nil)
		})
	}
}

// firstEvent is the type of the first event an SSE stream sends to token.
func firstEvent(t *testing.T, url, token string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	var first string
	stop := errors.New("enough")
	if err := ssetest.Read(resp.Body, func(m ssetest.Message) error { first = m.Event; return stop }); !errors.Is(err, stop) {
		t.Fatalf("read %s: %v", url, err)
	}
	return first
}
