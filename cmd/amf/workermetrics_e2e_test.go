package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	kapi "github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory/cache"
)

// TestWorkerProcessServesMetrics scrapes a real `amf worker` process on
// --metrics-listen: the model's health from its check of a real Ollama
// wire server, and the tasks it ran with their outcome, attempts and
// phases.
func TestWorkerProcessServesMetrics(t *testing.T) {
	k := kerneltest.Start(t)
	if _, err := cache.NewKVCache(context.Background(), k.JS); err != nil {
		t.Fatal(err)
	}
	llm := ollamatest.New(t, ollamatest.WithFallback(ollamatest.Reply{Content: `{"thought":"say it","command":"echo asked"}`}))
	addr := testenv.FreeAddr(t)
	env := []string{"AMF_NATS_URL=" + k.ClientURL(), "AMF_STATE_DIR=" + t.TempDir(), "OLLAMA_HOST=" + llm.URL(),
		"AMF_NATS_CREDS=" + k.Creds(kernel.UserSpec{Role: kernel.RoleWorker})}
	startAmf(t, env, "worker", "--id", "metered", "--concurrency", "2", "--metrics-listen", addr)

	client := &kapi.Client{NC: k.NC, JS: k.JS}
	for _, cmd := range []string{"echo metered", "exit 3", "sudo true"} {
		task, _, err := client.Submit(context.Background(), bus.Task{Command: cmd})
		if err != nil {
			t.Fatal(err)
		}
		evs := watchAll(t, client, task.ID)
		if e := lastEvent(evs); !e.Type.Terminal() || e.Worker != "metered" {
			t.Fatalf("task %q ended %+v", cmd, e)
		}
	}

	// One task asks the model: its first token is timed.
	task, _, err := client.Submit(context.Background(), bus.Task{Instruction: "say asked", NoAnswer: true})
	if err != nil {
		t.Fatal(err)
	}
	if e := lastEvent(watchAll(t, client, task.ID)); e.Type != bus.EventDone {
		t.Fatalf("instruction task ended %+v", e)
	}

	const labels = `pool="default",worker="metered"`
	want := []string{
		`amf_worker_tasks_started_total{` + labels + `} 4`,
		`amf_worker_tasks_ended_total{outcome="done",` + labels + `} 2`,
		`amf_worker_ttft_seconds_count{` + labels + `} 1`,
		`amf_worker_tasks_ended_total{outcome="failed",` + labels + `} 2`,
		`amf_worker_task_failures_total{pool="default",rule="root-escalation",worker="metered"} 1`,
		`amf_worker_task_duration_seconds_count{outcome="done",` + labels + `} 2`,
		`amf_worker_task_duration_seconds_count{outcome="failed",` + labels + `} 2`,
		`amf_build_info{commit=`,
		`amf_worker_tasks_running{` + labels + `} 0`,
		`amf_worker_concurrency{` + labels + `} 2`,
		`amf_worker_task_attempts_count{` + labels + `} 4`,
		`amf_worker_phase_seconds_count{phase="execution",` + labels + `} 3`,
		`amf_worker_model_up{model="qwen3-coder",pool="default",status="ok",worker="metered"} 1`,
	}
	// The terminal event is stored before the worker counts it: scrape
	// until the counts catch up, then every series must be there.
	var text string
	deadline := time.Now().Add(30 * time.Second)
	for {
		text = scrape(t, "http://"+addr+"/metrics")
		missing := ""
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %s:\n%s", missing, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(text, "go_goroutines") {
		t.Errorf("metrics lack the Go runtime's")
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %d %s", url, resp.StatusCode, body)
	}
	return string(body)
}

// TestUpServesWorkerMetricsWithTheBridge: under `amf up` the worker's
// series are on the bridge's /metrics, beside the bridge's own.
func TestUpServesWorkerMetricsWithTheBridge(t *testing.T) {
	env, base, _ := upEnv(t, fakeModel(t))
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)
	resp, err := http.Post(base+"/v1/tasks", "application/json", strings.NewReader(`{"id":"metered-up","command":"echo up"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d %s", resp.StatusCode, body)
	}
	if e := lastEvent(sseEvents(t, base, "metered-up")); e.Type != bus.EventDone {
		t.Fatalf("task ended %+v", e)
	}
	want := []string{`amf_worker_tasks_ended_total{outcome="done",pool="default",worker=`, `amf_build_info{`, `amf_http_requests_total{`, `go_goroutines `}
	deadline := time.Now().Add(30 * time.Second)
	for {
		text := scrape(t, base+"/metrics")
		missing := ""
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = w
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %s:\n%s", missing, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
