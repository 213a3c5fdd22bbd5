package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/sandbox/policy"
)

// BenchmarkDispatch submits N explicit-command tasks ({"command":"true"})
// from C HTTP clients to one `amf up --concurrency K` and waits for every
// one to end, per backend, all in one run; bubblewrap running the same
// command K at a time is the baseline a sandbox is held to. Reported:
// tasks/s over the whole batch, the submit latency p50/p99, and the CPU
// time `amf up` and everything it started spent per task (amf-cpu-ms/task:
// the cost of a task, which other load on the machine hardly changes).
//
//	go test -run '^$' -bench Dispatch -benchtime 1x ./bench
//
// AMF_BENCH_TASKS (N, 400), AMF_BENCH_CLIENTS (C, 8) and
// AMF_BENCH_CONCURRENCY (K, 8) size it; AMF_BENCH_COMMAND (true) is the
// command. bubblewrap is given it as AMF-OS runs it: its words, where
// bash would only execute them (policy.Direct), else to bash.
func BenchmarkDispatch(b *testing.B) {
	n, c, k := envInt("AMF_BENCH_TASKS", 400), envInt("AMF_BENCH_CLIENTS", 8), envInt("AMF_BENCH_CONCURRENCY", 8)
	command := cmp.Or(os.Getenv("AMF_BENCH_COMMAND"), "true")
	conc := "--concurrency=" + strconv.Itoa(k)
	body := func(profile string) string {
		t := map[string]string{"command": command}
		if profile != "" {
			t["policy"] = profile
		}
		j, _ := json.Marshal(t)
		return string(j)
	}
	b.Run("namespace-strict", func(b *testing.B) {
		testenv.NeedRoot(b)
		dispatch(b, startUp(b, nil, conc), body("strict"), n, c)
	})
	b.Run("namespace-network", func(b *testing.B) {
		testenv.NeedRoot(b)
		dispatch(b, startUp(b, nil, conc), body("network"), n, c)
	})
	b.Run("host", func(b *testing.B) {
		dispatch(b, startUp(b, nil, conc, "--sandbox=host"), body(""), n, c)
	})
	b.Run("bwrap", func(b *testing.B) {
		bwrap := testenv.NeedBinary(b, "bwrap")
		args := []string{"--unshare-all", "--die-with-parent", "--new-session",
			"--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
			"--cap-drop", "ALL", "--"}
		if argv, ok := policy.Direct(command, nil); ok {
			args = append(args, argv...)
		} else {
			args = append(args, "bash", "-c", command)
		}
		for b.Loop() {
			cpu0 := childrenCPU()
			start := time.Now()
			work := make(chan struct{})
			var wg sync.WaitGroup
			var failed atomic.Int64
			for range k {
				wg.Go(func() {
					for range work {
						if err := exec.Command(bwrap, args...).Run(); err != nil {
							failed.Add(1)
						}
					}
				})
			}
			for range n {
				work <- struct{}{}
			}
			close(work)
			wg.Wait()
			if f := failed.Load(); f > 0 {
				b.Fatalf("%d of %d bwrap runs failed", f, n)
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "tasks/s")
			// The same measure as amf-cpu-ms/task: what one sandboxed
			// `true` costs the machine, bubblewrap's processes and all.
			b.ReportMetric(ms(childrenCPU()-cpu0)/float64(n), "cpu-ms/task")
		}
	})
}

// dispatch runs one batch per iteration: C clients share N tasks, each
// submitting one and reading its events to the end before the next, as
// `amf run` does (one request: mesh.run).
func dispatch(b *testing.B, m *mesh, body string, n, c int) {
	// One task first, so the batch does not measure start-up.
	cl := newClient()
	if end, err := m.run(cl, body, nil, nil); err != nil || end != "done" {
		b.Fatalf("warm-up task ended %q (%v): %s", end, err, m.log)
	}
	for b.Loop() {
		var next atomic.Int64
		var mu sync.Mutex
		lat := make([]time.Duration, 0, n)
		errs := make(chan error, c)
		cpu0 := treeCPU(m.cmd.Process.Pid)
		start := time.Now()
		var wg sync.WaitGroup
		for range c {
			wg.Go(func() {
				cl := newClient()
				for next.Add(1) <= int64(n) {
					t0 := time.Now()
					end, err := m.run(cl, body, func() {
						d := time.Since(t0)
						mu.Lock()
						lat = append(lat, d)
						mu.Unlock()
					}, nil)
					if err != nil || end != "done" {
						errs <- fmt.Errorf("a task ended %q: %v", end, err)
						return
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		cpu := treeCPU(m.cmd.Process.Pid) - cpu0
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		slices.Sort(lat)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "tasks/s")
		b.ReportMetric(ms(pct(lat, .50)), "submit-p50-ms")
		b.ReportMetric(ms(pct(lat, .99)), "submit-p99-ms")
		if cpu > 0 {
			b.ReportMetric(ms(cpu)/float64(n), "amf-cpu-ms/task")
		}
	}
}

// pct is the p-th percentile of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
