package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// TestStoreFullRefusesAndRecovers: the kernel's store sits on a 48 MiB
// tmpfs that a ballast file nearly fills. Submissions of 100 KB tasks
// fill the store; then each is refused at once with 507 store_full,
// /healthz says degraded and why, and every task that was answered 202
// is still queued. Once the ballast is removed the kernel takes tasks
// again, without a restart. Before, the store's limit was fixed when the
// kernel started: every submission after space was freed got 503 until
// a restart, and /healthz said ok throughout.
func TestStoreFullRefusesAndRecovers(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "amf-store", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	ballast := filepath.Join(dir, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 34<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	k := kerneltest.StartWith(t, kernel.Server{StateDir: dir, TasksMaxBytes: 8 << 20})
	s := &bridge.Server{NC: k.NC, NoAuth: true, Logger: kerneltest.Logger(t)}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptestServer(t, h)

	post := func(id string, size int) (int, string) {
		t.Helper()
		body := `{"id":"` + id + `","pool":"nobody","command":"echo ` + strings.Repeat("x", size) + `"}`
		resp, err := http.Post(srv+"/v1/tasks", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	health := func() (status, store string) {
		t.Helper()
		resp, err := http.Get(srv + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct{ Status, Store string }
		_ = json.NewDecoder(resp.Body).Decode(&r)
		return r.Status, r.Store
	}

	var accepted []string
	refused := ""
	for i := 0; i < 300 && refused == ""; i++ {
		id := "fill-" + strconv.Itoa(i)
		switch code, body := post(id, 100<<10); code {
		case http.StatusAccepted:
			accepted = append(accepted, id)
		case http.StatusInsufficientStorage:
			if !strings.Contains(body, `"store_full"`) || !strings.Contains(body, "free disk space") {
				t.Fatalf("507 without the store_full code and what to do: %s", body)
			}
			refused = id
		default:
			t.Fatalf("submission %d after %d accepted: %d %s; want 202 or 507 store_full", i, len(accepted), code, body)
		}
	}
	if refused == "" || len(accepted) == 0 {
		t.Fatalf("%d tasks of 100 KB accepted and none refused on a nearly full disk", len(accepted))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, store := health()
		if status == "degraded" && strings.Contains(store, "store full") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz with the store full: %s %q; want degraded saying store full", status, store)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Nothing of the refused task was kept.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events, err := k.JS.Stream(ctx, bus.Names{}.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (bus.Names{}).LastEvent(ctx, events, refused); err == nil {
		t.Errorf("the refused task %s has events", refused)
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	// Healthy again first, then a submission: the limit is raised by
	// reloading nats-server's options, whose swap its direct gets read
	// without a lock (nats-server 2.15's getDirectRequest), so nothing of
	// this test's asks for one meanwhile.
	deadline = time.Now().Add(30 * time.Second)
	for status, store := health(); status != "ok"; status, store = health() {
		if time.Now().After(deadline) {
			t.Fatalf("/healthz after space was freed: %s %q", status, store)
		}
		time.Sleep(200 * time.Millisecond)
	}
	deadline = time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		id := "after-" + strconv.Itoa(i)
		code, body := post(id, 10)
		if code == http.StatusAccepted {
			accepted = append(accepted, id)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after space was freed the kernel still answers %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Every task answered 202 waits in the queue for a worker of its pool.
	tasks, err := k.JS.Stream(ctx, bus.Names{}.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	queued := map[string]bool{}
	for seq := uint64(1); ; {
		m, err := tasks.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(bus.Names{}.Task(">")))
		if err != nil {
			break
		}
		queued[m.Header.Get(bus.HeaderMsgID)] = true
		seq = m.Sequence + 1
	}
	for _, id := range accepted {
		if !queued[id] {
			t.Errorf("task %s was answered 202 but is not queued", id)
		}
	}
}

func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}
