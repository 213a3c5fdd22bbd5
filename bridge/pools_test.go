package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

func getPools(t *testing.T, url string) map[string]client.Pool {
	t.Helper()
	resp, err := http.Get(url + "/v1/pools")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Pools []client.Pool `json:"pools"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/pools: %d %v", resp.StatusCode, err)
	}
	out := map[string]client.Pool{}
	for _, p := range body.Pools {
		out[p.Name] = p
	}
	return out
}

// TestPoolsShowBackPressure queues tasks in two pools, one with a worker
// that takes a task and dies, one with no worker at all, and reads the
// same numbers over HTTP, the NATS API and Prometheus.
func TestPoolsShowBackPressure(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	names := bus.Names{}
	c := &client.Client{NC: f.k.NC, Names: names}
	cfg := names.PoolConsumerConfig("default")
	cfg.MaxDeliver, cfg.AckWait = 2, 300*time.Millisecond
	cons, err := f.k.JS.CreateOrUpdateConsumer(ctx, names.TasksStream(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range []bus.Task{{ID: "a", Command: "true"}, {ID: "b", Command: "true"}, {ID: "c", Command: "true"}, {ID: "g", Command: "true", Pool: "gpu"}} {
		if _, _, err := c.Submit(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	// take is a worker asking for one task: it dies holding "a" and
	// finishes the others. It returns how often "a" was delivered.
	take := func() uint64 {
		t.Helper()
		b, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range b.Messages() {
			if bus.PeekID(m.Data()) != "a" {
				_ = m.Ack()
				continue
			}
			meta, _ := m.Metadata()
			return meta.NumDelivered
		}
		return 0
	}
	take() // a worker takes "a" and dies
	ps := getPools(t, f.url)
	if d := ps["default"]; d.Waiting != 2 || d.Running != 1 || d.Stored != 3 || d.MaxDeliver != 2 || d.NoWorkers {
		t.Fatalf("default pool %+v, want 2 waiting, 1 running", d)
	}
	if g := ps["gpu"]; g.Waiting != 1 || !g.NoWorkers {
		t.Fatalf("gpu pool %+v, want 1 waiting and no workers", g)
	}

	// The same over the NATS API.
	svcCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = (&api.Service{Client: c}).Run(svcCtx) }()
	// The same shape as HTTP's: {"pools": […]}.
	var api []client.Pool
	for {
		var list struct {
			Pools []client.Pool `json:"pools"`
		}
		msg, err := f.k.NC.Request(names.API()+".pools", nil, 5*time.Second)
		if err == nil && json.Unmarshal(msg.Data, &list) == nil && len(list.Pools) == 2 {
			api = list.Pools
			break
		}
		time.Sleep(20 * time.Millisecond) // the service is starting
	}
	if api[0].Name != "default" || api[0].Waiting != 2 || api[1].Name != "gpu" {
		t.Fatalf("amf.api.pools answered %+v", api)
	}

	// "a" comes back once, then is spent: the next worker asking gets
	// the other tasks, and the failure is counted.
	for take() != 2 {
	}
	if d := getPools(t, f.url)["default"]; d.Redelivered != 1 || d.Running != 1 {
		t.Fatalf("default pool %+v, want the redelivery counted", d)
	}
	for getPools(t, f.url)["default"].MaxDeliveryFailures != 1 {
		take() // a live worker keeps asking; that is when JetStream gives up on "a"
	}
	resp, err := http.Get(f.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`amf_pool_tasks_waiting{pool="gpu"} 1`,
		`amf_pool_max_delivery_failures_total{pool="default"} 1`,
		`amf_pool_tasks_running{pool="default"}`,
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestUnavailableSaysWhenToRetry reads the pools while the kernel lacks
// the task queue: the answer is a 503 that says when to try again.
func TestUnavailableSaysWhenToRetry(t *testing.T) {
	f := newFixture(t)
	if err := f.k.JS.DeleteStream(context.Background(), bus.Names{}.TasksStream()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(f.url + "/v1/pools")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body apiErr
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" || body.Error.Code != "unavailable" {
		t.Fatalf("%d Retry-After=%q %+v; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}
