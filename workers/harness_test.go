package workers_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/workers"
)

// mesh is a kernel with workers and a client, all real.
type mesh struct {
	t      testing.TB
	k      *kerneltest.Kernel
	client *client.Client
}

func newMesh(t testing.TB) *mesh {
	t.Helper()
	k := kerneltest.Start(t)
	return &mesh{t: t, k: k, client: &client.Client{NC: k.NC, JS: k.JS}}
}

// startWorker runs a worker made from cfg (NC and defaults filled in)
// until the test ends and returns a function that stops it and waits.
func (m *mesh) startWorker(cfg workers.Config) (stop func()) {
	m.t.Helper()
	if cfg.NC == nil {
		cfg.NC = m.k.NC
	}
	if cfg.Runner == nil {
		cfg.Runner = testRunner(m.t)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = kerneltest.Logger(m.t)
	}
	w, err := workers.NewWorker(cfg)
	if err != nil {
		m.t.Fatalf("worker: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := w.Run(ctx); err != nil {
			m.t.Errorf("worker: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	m.t.Cleanup(stop)
	return stop
}

// submit sends a task through the client and returns its id.
func (m *mesh) submit(t bus.Task) string {
	m.t.Helper()
	t, _, err := m.client.Submit(context.Background(), t)
	if err != nil {
		m.t.Fatalf("submit: %v", err)
	}
	return t.ID
}

// wait collects a task's events until the terminal one.
func (m *mesh) wait(id string) []bus.Event {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var evs []bus.Event
	err := m.client.Watch(ctx, id, 0, true, func(e bus.Event) error {
		evs = append(evs, e)
		return nil
	})
	if err != nil {
		m.t.Fatalf("watch %s: %v (events so far: %v)", id, err, types(evs))
	}
	return evs
}

func types(evs []bus.Event) []bus.EventType {
	out := make([]bus.EventType, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

func count(evs []bus.Event, t bus.EventType) int {
	n := 0
	for _, e := range evs {
		if e.Type == t {
			n++
		}
	}
	return n
}

// lines joins the texts of every event of type t: output lines, one per
// line, however they were grouped into events.
func lines(evs []bus.Event, t bus.EventType) string {
	var out []string
	for _, e := range evs {
		if e.Type == t {
			out = append(out, e.Text)
		}
	}
	return strings.Join(out, "\n")
}

// streamed joins the texts of every event of type t: streamed text
// (tokens), however it was grouped into events.
func streamed(evs []bus.Event, t bus.EventType) string {
	var b strings.Builder
	for _, e := range evs {
		if e.Type == t {
			b.WriteString(e.Text)
		}
	}
	return b.String()
}

func last(evs []bus.Event) bus.Event {
	if len(evs) == 0 {
		return bus.Event{}
	}
	return evs[len(evs)-1]
}

// terminalCount checks the one-terminal-event rule.
func assertOneTerminal(t *testing.T, evs []bus.Event) {
	t.Helper()
	n := 0
	for _, e := range evs {
		if e.Type.Terminal() {
			n++
		}
	}
	if n != 1 || !last(evs).Type.Terminal() {
		t.Fatalf("want exactly one terminal event, last; got %v", types(evs))
	}
}
