//go:build linux

package sandbox

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

// BenchmarkSpawnTrue measures spawn-to-exit of `true` in one run: through
// the full sandbox (validation, namespaces, pivot_root, seccomp, cgroups,
// work dir) with its warm inits, the same with no warm init (every command
// pays for starting the init), bubblewrap with equivalent flags, and a
// plain fork/exec. All run bash -c true, the way the sandbox runs every
// command. The warm case lets the runner refill its pool between commands
// (outside the timed part), as it does between a worker's commands; the
// cold case is what a burst that outruns the pool sees; sandbox-cold-self
// is the same with inits started from this binary rather than the
// embedded sandbox program, as where none is built.
//
//	go test -run '^$' -bench SpawnTrue -benchtime 300x ./sandbox
func BenchmarkSpawnTrue(b *testing.B) {
	bash := shellPath()
	sandbox := func(warm int, profile string, self bool) func(b *testing.B) {
		return func(b *testing.B) {
			testenv.NeedRoot(b)
			r, err := New(Config{StateDir: b.TempDir(), WarmInits: warm, selfInit: self})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			settle := func() {
				for r.warm != nil && (len(r.warm) < cap(r.warm) || len(r.warmNet) < cap(r.warmNet)) {
					time.Sleep(200 * time.Microsecond)
				}
			}
			measureSettled(b, settle, func() error {
				res, err := r.Run(context.Background(), Spec{Command: "true", Profile: profile}, nil)
				if err == nil && res.ExitCode != 0 {
					b.Fatalf("exit %d", res.ExitCode)
				}
				return err
			})
		}
	}
	b.Run("sandbox", sandbox(1, "strict", false))
	b.Run("sandbox-network", sandbox(1, "network", false))
	b.Run("sandbox-cold", sandbox(-1, "strict", false))
	b.Run("sandbox-cold-self", sandbox(-1, "strict", true))
	// The host's view (root, masks, host /proc) is built per command:
	// no init is kept warm for it.
	b.Run("sandbox-view-host", sandbox(1, "observe", false))
	b.Run("bwrap", func(b *testing.B) {
		bwrap := testenv.NeedBinary(b, "bwrap")
		work := b.TempDir()
		args := []string{"--unshare-all", "--die-with-parent", "--new-session",
			"--ro-bind", "/usr", "/usr"}
		for _, d := range []string{"bin", "sbin", "lib", "lib64"} {
			if t, err := os.Readlink("/" + d); err == nil {
				args = append(args, "--symlink", t, "/"+d)
			} else if _, err := os.Stat("/" + d); err == nil {
				args = append(args, "--ro-bind", "/"+d, "/"+d)
			}
		}
		args = append(args, "--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev",
			"--tmpfs", "/tmp", "--bind", work, "/work", "--chdir", "/work",
			"--cap-drop", "ALL", "--", bash, "-c", "true")
		measure(b, func() error { return exec.Command(bwrap, args...).Run() })
	})
	b.Run("forkexec", func(b *testing.B) {
		measure(b, func() error { return exec.Command(bash, "-c", "true").Run() })
	})
}

// measure runs fn b.N times and reports the median and 99th percentile.
func measure(b *testing.B, fn func() error) { measureSettled(b, func() {}, fn) }

// measureSettled calls settle, untimed, before each timed call of fn.
func measureSettled(b *testing.B, settle func(), fn func() error) {
	b.Helper()
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		settle()
		b.StartTimer()
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	b.StopTimer()
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	pct := func(p float64) float64 {
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
