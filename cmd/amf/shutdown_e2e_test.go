package main

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

// TestWorkerExitsPromptlyWhenItsKernelIsGone is a host being shut down
// after its kernel: SIGTERM ends the worker within a bound (it has
// nothing to drain and nobody to tell), whatever loop was reconnecting.
func TestWorkerExitsPromptlyWhenItsKernelIsGone(t *testing.T) {
	for _, tc := range []struct {
		name string
		gone syscall.Signal
		// wait lets the worker notice before it is told to stop.
		wait time.Duration
	}{
		// The connection closes: the worker reconnects.
		{"killed", syscall.SIGKILL, 2 * time.Second},
		// A kernel host that is gone answers nothing and closes nothing:
		// the connection stays open while the consumers' heartbeats
		// stop. 12 s is past two missed heartbeats (5 s each), when an
		// ordered consumer starts recreating itself.
		{"frozen", syscall.SIGSTOP, 12 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kstate := t.TempDir()
			addr := testenv.FreeAddr(t)
			k := startAmf(t, []string{"AMF_STATE_DIR=" + kstate, "AMF_NATS_LISTEN=" + addr}, "kernel")
			waitNATS(t, addr, k)
			creds := filepath.Join(t.TempDir(), "worker.creds")
			if p := startAmf(t, []string{"AMF_STATE_DIR=" + kstate}, "auth", "creds", "worker", "-o", creds); p.wait(30*time.Second) != 0 {
				t.Fatalf("amf auth creds worker:\n%s", p.Output())
			}
			llm := fakeModel(t)
			w := startAmf(t, []string{"AMF_NATS_URL=nats://" + addr, "AMF_NATS_CREDS=" + creds, "AMF_STATE_DIR=" + t.TempDir(), "OLLAMA_HOST=" + llm.URL()},
				"worker", "--id", "orphan")
			waitFor(t, w, "worker ready")

			k.signal(tc.gone)
			time.Sleep(tc.wait)
			start := time.Now()
			w.signal(syscall.SIGTERM)
			w.wait(15 * time.Second) // fails the test, with the output, past the bound
			t.Logf("worker exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
		})
	}
}
