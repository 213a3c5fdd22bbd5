package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// twoPools: the default pool defaults to observe, pool p2 to trusted.
type twoPools struct{}

func (twoPools) Workers(context.Context) ([]bus.WorkerInfo, error) {
	return []bus.WorkerInfo{
		{ID: "w1", Pool: bus.DefaultPool, Offer: &bus.Offer{Default: "observe", Profiles: map[string][]string{"strict": nil, "observe": nil, "trusted": nil}, Workspaces: []string{"ws1"}}},
		{ID: "w2", Pool: "p2", Offer: &bus.Offer{Default: "trusted", Profiles: map[string][]string{"strict": nil, "observe": nil, "trusted": nil}}},
	}, nil
}

// TestAttackDefaultPolicy: a bridge that cannot tell its pools'
// defaults, the task API that can. No token, cookie session or client
// credential gets a default profile it was not granted by naming none —
// plain, streamed, as a schedule, in a workspace, in another pool — and
// one granted it gets exactly one accepted task with that profile.
func TestAttackDefaultPolicy(t *testing.T) {
	a := startAPIKernel(t, twoPools{})
	k, log := a.k, &acceptLog{js: a.k.JS}
	f := a.bridge(t, "atk-bridge", nil)
	strict := f.token(t, "submit,read", "")
	strictNoRead := f.token(t, "submit", "")
	observe := f.token(t, "submit,read", "observe")
	wsTok := f.token(t, "submit,read", "workspace:ws1")
	trusted := f.token(t, "submit,read", "trusted")

	post := func(token, path, body string, hdr map[string]string, ck *http.Cookie) (int, string) {
		t.Helper()
		for i := 0; ; i++ {
			req, _ := http.NewRequest(http.MethodPost, f.url+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			if ck != nil {
				req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
				req.Header.Set("X-Amf-Csrf", "1")
			}
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			c := &http.Client{Timeout: 20 * time.Second}
			resp, err := c.Do(req)
			if err != nil {
				if strings.Contains(err.Error(), "Timeout") {
					// A stream: read what arrived.
					return -1, err.Error()
				}
				t.Fatal(err)
			}
			var b []byte
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				buf := make([]byte, 4096)
				n, _ := resp.Body.Read(buf)
				b = buf[:n]
			} else {
				b, _ = io.ReadAll(resp.Body)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && i < 200 {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			return resp.StatusCode, string(b)
		}
	}
	refused := func(what, id string, code int, body string) {
		t.Helper()
		if code != http.StatusForbidden || !strings.Contains(body, "policy_not_granted") {
			t.Errorf("BROKE %s: %d %s, want 403 policy_not_granted", what, code, body)
		}
		time.Sleep(200 * time.Millisecond)
		if p := log.policies(id); len(p) != 0 && id != "" {
			t.Errorf("BROKE %s: task %s accepted with %v", what, id, p)
		}
	}
	ck := f.login(t, nil, strict)

	// 1. plain, streamed (with and without read scope), schedule via /v1/tasks, cookie, workspace, pool p2
	code, body := post(strict, "/v1/tasks", `{"id":"a1","command":"true"}`, nil, nil)
	refused("strict plain", "a1", code, body)
	code, body = post(strict, "/v1/tasks", `{"id":"a2","command":"true"}`, map[string]string{"Accept": "text/event-stream"}, nil)
	refused("strict streamed", "a2", code, body)
	code, body = post(strictNoRead, "/v1/tasks", `{"id":"a3","command":"true"}`, map[string]string{"Accept": "text/event-stream"}, nil)
	refused("strict no-read streamed", "a3", code, body)
	code, body = post(strict, "/v1/tasks", `{"id":"a4","command":"true","schedule":"every 1h"}`, nil, nil)
	refused("strict schedule via /v1/tasks", "", code, body)
	code, body = post("", "/v1/tasks", `{"id":"a5","command":"true"}`, nil, ck)
	refused("strict cookie", "a5", code, body)
	code, body = post("", "/v1/schedules", `{"command":"true","schedule":"every 1h"}`, nil, ck)
	refused("strict cookie schedule", "", code, body)
	code, body = post(wsTok, "/v1/tasks", `{"id":"a6","command":"true","workspace":"ws1"}`, nil, nil)
	refused("workspace token no policy", "a6", code, body)
	code, body = post(observe, "/v1/tasks", `{"id":"a7","command":"true","pool":"p2"}`, nil, nil)
	refused("observe token, pool p2 default trusted", "a7", code, body)
	code, body = post(observe, "/v1/schedules", `{"command":"true","pool":"p2","schedule":"every 1h"}`, nil, nil)
	refused("observe token schedule, pool p2", "", code, body)
	code, body = post(trusted, "/v1/tasks", `{"id":"a8","command":"true"}`, nil, nil)
	refused("trusted token, default observe", "a8", code, body)

	// 2. granted: exactly one accepted event, with the default; streamed too.
	code, body = post(observe, "/v1/tasks", `{"id":"g1","command":"true"}`, nil, nil)
	if code != http.StatusAccepted {
		t.Errorf("observe plain: %d %s", code, body)
	}
	code, body = post(observe, "/v1/tasks", `{"id":"g2","command":"true"}`, map[string]string{"Accept": "text/event-stream"}, nil)
	if code != http.StatusAccepted || !strings.Contains(body, "accepted") {
		t.Errorf("observe streamed: %d %s", code, body)
	}
	code, body = post(observe, "/v1/tasks", `{"id":"g1","command":"true"}`, nil, nil)
	if code != http.StatusAccepted || !strings.Contains(body, `"duplicate":true`) {
		t.Errorf("observe resubmit: %d %s", code, body)
	}
	// The same id again by a strict token naming strict: a different owner's id.
	code, body = post(strict, "/v1/tasks", `{"id":"g1","command":"true","policy":"strict"}`, nil, nil)
	t.Logf("strict token, id of observe's task, naming strict: %d %s", code, body)
	code, body = post(strict, "/v1/tasks", `{"id":"g1","command":"true"}`, nil, nil)
	t.Logf("strict token, id of observe's task, naming none: %d %s", code, body)
	time.Sleep(300 * time.Millisecond)
	for _, id := range []string{"g1", "g2"} {
		if p := log.policies(id); len(p) != 1 || p[0] != "observe" {
			t.Errorf("BROKE %s: accepted events %v, want one observe", id, p)
		}
	}

	// 3. NATS client credentials straight through the client library.
	for _, c := range []struct {
		name   string
		grants []string
		ok     bool
	}{{"none", nil, false}, {"trusted", []string{"trusted"}, false}, {"observe", []string{"observe"}, true}} {
		nc := k.ConnectAs(k.Creds(kernel.UserSpec{Name: "atk-client-" + c.name, Role: kernel.RoleClient, Grants: c.grants}))
		cl := &client.Client{NC: nc, ViaAPI: true}
		id := "n-" + c.name
		start := time.Now()
		_, _, err := cl.Submit(context.Background(), bus.Task{ID: id, Command: "true"})
		t.Logf("client %s Submit: %v (%v)", c.name, err, time.Since(start))
		if c.ok != (err == nil) || (err != nil && (!errors.Is(err, client.ErrForbidden) || !strings.Contains(err.Error(), "names no policy"))) {
			t.Errorf("BROKE client %s Submit: %v", c.name, err)
		}
		start = time.Now()
		sm, err := cl.SubmitOpen(context.Background(), client.Reader{}, bus.Task{ID: id + "-open", Command: "true"})
		t.Logf("client %s SubmitOpen: %v (%v)", c.name, err, time.Since(start))
		if c.ok != (err == nil) || (err != nil && (!errors.Is(err, client.ErrForbidden) || !strings.Contains(err.Error(), "names no policy"))) {
			t.Errorf("BROKE client %s SubmitOpen: %v", c.name, err)
		}
		_ = sm
		start = time.Now()
		sc, err := client.Schedules{C: cl}.Create(context.Background(), bus.Task{Command: "true", Schedule: "every 1h"})
		t.Logf("client %s Schedules.Create: %+v %v (%v)", c.name, sc.Task.Policy, err, time.Since(start))
		if c.ok != (err == nil) || (err != nil && (!errors.Is(err, client.ErrForbidden) || !strings.Contains(err.Error(), "names no policy"))) {
			t.Errorf("BROKE client %s Schedules.Create: %v", c.name, err)
		}
		time.Sleep(200 * time.Millisecond)
		for _, tid := range []string{id, id + "-open"} {
			p := log.policies(tid)
			if c.ok && (len(p) != 1 || p[0] != "observe") || !c.ok && len(p) != 0 {
				t.Errorf("BROKE client %s task %s: accepted %v", c.name, tid, p)
			}
		}
	}
}

// staleStrict: the bridge's view says the default pool defaults to
// strict (a worker since restarted with observe); disagree: two workers
// of the default pool disagree.
type staleStrict struct{}

func (staleStrict) Workers(context.Context) ([]bus.WorkerInfo, error) {
	return []bus.WorkerInfo{{ID: "w1", Pool: bus.DefaultPool, Offer: &bus.Offer{Default: "strict", Profiles: map[string][]string{"strict": nil, "observe": nil}}}}, nil
}

type disagree struct{}

func (disagree) Workers(context.Context) ([]bus.WorkerInfo, error) {
	return []bus.WorkerInfo{
		{ID: "w1", Pool: bus.DefaultPool, Offer: &bus.Offer{Default: "strict", Profiles: map[string][]string{"strict": nil, "observe": nil}}},
		{ID: "w2", Pool: bus.DefaultPool, Offer: &bus.Offer{Default: "observe", Profiles: map[string][]string{"strict": nil, "observe": nil}}},
	}, nil
}

// TestAttackDefaultPolicyBridgeViewDiffers: a bridge whose view of the
// workers is stale or split sends a task naming no profile as strict's;
// the task API's default is judged against the token all the same.
func TestAttackDefaultPolicyBridgeViewDiffers(t *testing.T) {
	a := startAPIKernel(t, twoPools{})
	log := &acceptLog{js: a.k.JS}
	for i, offers := range []client.WorkerLister{staleStrict{}, disagree{}} {
		f := a.bridge(t, fmt.Sprintf("atk-bridge-%d", i), offers)
		strict := f.token(t, "submit,read", "")
		for j, path := range []string{"/v1/tasks", "/v1/schedules"} {
			id := fmt.Sprintf("v%d%d", i, j)
			body := `{"id":"` + id + `","command":"true"}`
			if j == 1 {
				body = `{"command":"true","schedule":"every 1h"}`
			}
			var a answer
			for n := 0; n < 200; n++ {
				if a = f.do(t, nil, http.MethodPost, path, strict, body, nil); a.status != http.StatusServiceUnavailable {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if a.status != http.StatusForbidden || a.code != "policy_not_granted" {
				t.Errorf("BROKE bridge view %T, %s: %+v", offers, path, a)
			}
			if j == 0 {
				if p := log.policies(id); len(p) != 0 {
					t.Errorf("BROKE bridge view %T: %s accepted %v", offers, id, p)
				}
			}
		}
	}
}
