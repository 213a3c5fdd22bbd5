//go:build linux

package sandbox

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/sandbox/microvm"
)

// BenchmarkMicroVM measures, in one run, the micro-VM backend beside
// the namespace backend: spawn-to-exit of `true` through Run with a
// warm guest (the pool refills outside the timed part, as between a
// worker's commands), the same through the namespace backend's warm
// inits, and a cold boot-to-command (boot a guest, run `true` in it).
// It reports the resident memory of one booted guest's QEMU process
// (mb-rss/guest) and of the namespace backend's command (its cgroup's
// peak, mb-peak/sandbox).
//
//	go test -run '^$' -bench MicroVM -benchtime 5x ./sandbox
func BenchmarkMicroVM(b *testing.B) {
	testenv.NeedRoot(b)
	testenv.NeedBinary(b, "qemu-system-x86_64")
	b.Run("microvm-warm", func(b *testing.B) {
		r, err := NewMicroVM(Config{StateDir: b.TempDir(), MicroVM: MicroVMConfig{Accel: "tcg", WarmGuests: 1}})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		settle := func() {
			for r.pool.Waiting() < 1 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		measureSettled(b, settle, func() error {
			res, err := r.Run(context.Background(), Spec{Command: "true"}, nil)
			if err == nil && res.ExitCode != 0 {
				b.Fatalf("exit %d", res.ExitCode)
			}
			return err
		})
	})
	b.Run("namespace-warm", func(b *testing.B) {
		r, err := New(Config{StateDir: b.TempDir(), WarmInits: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		settle := func() {
			for len(r.warm) < cap(r.warm) {
				time.Sleep(200 * time.Microsecond)
			}
		}
		var peak int64
		measureSettled(b, settle, func() error {
			res, err := r.Run(context.Background(), Spec{Command: "true"}, nil)
			if err == nil && res.ExitCode != 0 {
				b.Fatalf("exit %d", res.ExitCode)
			}
			peak = max(peak, res.PeakMemKB)
			return err
		})
		b.ReportMetric(float64(peak)/1024, "mb-peak/sandbox")
	})
	b.Run("microvm-cold-boot-to-command", func(b *testing.B) {
		dir := b.TempDir()
		self, _ := os.Executable()
		img, err := microvm.Assemble(dir, self, "")
		if err != nil {
			b.Fatal(err)
		}
		lim := DefaultLimits
		gs := microvm.GuestSpec{Image: img, Launcher: &microvm.QEMU{Accel: "tcg"}, Dir: dir,
			MemoryMiB: int(lim.Memory>>20) + guestOverheadMiB, CPUs: 1}
		var rss int64
		var boot time.Duration
		b.ResetTimer()
		for range b.N {
			g, err := microvm.Boot(context.Background(), gs)
			if err != nil {
				b.Fatal(err)
			}
			boot += g.BootTime
			b.StopTimer()
			rss = max(rss, vmRSSKB(g.Pid()))
			b.StartTimer()
			os.Chown(g.Share, 1_800_001_000, 1_800_001_000)
			ex, err := g.Run(context.Background(), microvm.Task{Command: "true", UID: 1_800_001_000, GID: 1_800_001_000,
				Memory: lim.Memory, Processes: lim.Processes, CPUs: lim.CPUs, CPUTime: 10, FileSize: lim.FileSize,
				OpenFiles: lim.OpenFiles, Tmp: lim.Tmp}, func(bool, []byte) {})
			if err != nil || ex.Code != 0 {
				b.Fatalf("run: %+v %v", ex, err)
			}
			g.Close()
		}
		b.ReportMetric(float64(boot.Milliseconds())/float64(b.N), "ms-boot/op")
		b.ReportMetric(float64(rss)/1024, "mb-rss/guest")
	})
}

// vmRSSKB is a process's resident set in KiB.
func vmRSSKB(pid int) int64 {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
