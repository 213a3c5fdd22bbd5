package workers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
)

// BenchmarkCorrectionLoop runs the wrong-then-right task end to end
// (kernel, worker, host runner, fake Ollama) and reports the attempts and
// the time per phase that the done event summarises, per task.
//
//	go test -run '^$' -bench CorrectionLoop -benchtime 20x ./workers/
func BenchmarkCorrectionLoop(b *testing.B) {
	for _, bc := range []struct {
		name  string
		delay time.Duration
	}{{"instant-model", 0}, {"model-10ms-per-token", 10 * time.Millisecond}} {
		b.Run(bc.name, func(b *testing.B) {
			m := newWorkerMesh(b, ollamatest.WithTokenDelay(bc.delay), ollamatest.WithHandler(wrongThenRight))
			sums := map[string]float64{}
			attempts := 0
			for b.Loop() {
				done := last(m.wait(m.submit(bus.Task{Instruction: "how many entries are in the work dir"})))
				if done.Type != bus.EventDone {
					b.Fatalf("ended %+v", done)
				}
				attempts += len(done.Attempts)
				for k, v := range done.Phases {
					sums[k] += v
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(attempts)/n, "attempts/task")
			for _, k := range []string{bus.PhaseModel, bus.PhaseValidation, bus.PhaseExecution, bus.PhaseAnswer, bus.PhaseMemory} {
				b.ReportMetric(sums[k]/n, k+"-ms/task")
			}
		})
	}
}

// wrongThenRight answers a first command request with a command that
// fails, the correction request with one that works, and the answer
// request with a sentence.
func wrongThenRight(req *api.ChatRequest) ollamatest.Reply {
	if !isCommandRequest(*req) {
		return ollamatest.Reply{Content: `{"answers_request": true, "answer": "The work dir holds no entries."}`}
	}
	if strings.Contains(lastUser(*req), "Exit code:") {
		return ollamatest.Reply{Content: `{"thought": "count the entries of the work dir itself", "command": "ls -A | wc -l"}`}
	}
	return ollamatest.Reply{Content: `{"thought": "count the entries", "command": "ls -A /no-such-dir"}`}
}
