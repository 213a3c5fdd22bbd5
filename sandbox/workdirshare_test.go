package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"golang.org/x/sys/unix"
)

// heldNow is what all of r's work dir file systems hold now, as the
// kernel counts their blocks.
func heldNow(r *NamespaceRunner) int64 {
	r.workdirs.mu.Lock()
	defer r.workdirs.mu.Unlock()
	var total int64
	for _, f := range r.workdirs.fs {
		var st unix.Statfs_t
		if unix.Fstatfs(f.fd, &st) == nil {
			total += int64(st.Blocks-st.Bfree) * st.Bsize
		}
	}
	return total
}

// hostShmem is the host's shared memory (tmpfs among it), from
// /proc/meminfo.
func hostShmem() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "Shmem:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Six sessions writing at once, each far more than its share of the
// runner's total but each within its own work dir budget (the attack:
// every new dir was checked against the total only when it was made, so
// six sessions writing 800 MB each took 4.8 GiB of a 4 GiB total), cannot
// make the work dirs hold more than the total at any moment: each tmpfs
// is sized to its share while the commands write, the kernel refuses the
// write past it with "No space left on device", and the result and the
// output name work_dir.total_mib. Twice, as the attack wrote its files
// twice.
func TestWorkDirTotalHoldsWhileSessionsWrite(t *testing.T) {
	const total, each, sessions = 96 << 20, 64 << 20, 6
	r := newTestRunner(t, Limits{WorkDirBytes: each, WorkDirTotal: total})
	base := t.TempDir()

	var peak, shmPeak atomic.Int64
	shm0 := hostShmem()
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			if h := heldNow(r); h > peak.Load() {
				peak.Store(h)
			}
			if s := hostShmem() - shm0; s > shmPeak.Load() {
				shmPeak.Store(s)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})

	byTotal := 0
	for round := range 2 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range sessions {
			wg.Go(func() {
				var c collector
				dir := filepath.Join(base, fmt.Sprintf("session-%d", i))
				res, err := r.Run(context.Background(), Spec{
					Command: "head -c 40M /dev/zero > a && head -c 40M /dev/zero > b",
					WorkDir: dir, Timeout: time.Minute,
				}, c.out)
				out := c.text()
				if err != nil {
					t.Errorf("round %d, session %d: %v", round, i, err)
					return
				}
				if res.ExitCode == 0 {
					return
				}
				if !strings.Contains(out, "No space left on device") {
					t.Errorf("round %d, session %d: exit %d without \"No space left on device\": %s", round, i, res.ExitCode, out)
				}
				switch res.LimitHit {
				case "work_dir_total":
					if !strings.Contains(out, "work_dir.total_mib") || !strings.Contains(out, "96 MiB") {
						t.Errorf("round %d, session %d: the note does not name the total and its setting: %s", round, i, out)
					}
					mu.Lock()
					byTotal++
					mu.Unlock()
				case "work_dir_bytes": // a session that wrote alone met its own budget first
				default:
					t.Errorf("round %d, session %d: limit hit %q, want work_dir_total: %s", round, i, res.LimitHit, out)
				}
			})
		}
		wg.Wait()
	}
	close(stop)
	sampler.Wait()

	t.Logf("work dirs held at most %d MiB (total %d MiB); host shared memory rose by at most %d MiB; %d runs refused by the total",
		peak.Load()>>20, total>>20, shmPeak.Load()>>20, byTotal)
	if p := peak.Load(); p > total+total/10 {
		t.Fatalf("the work dirs held %d MiB at once, past the %d MiB total + 10 %%", p>>20, total>>20)
	}
	if byTotal == 0 {
		t.Fatalf("no run was refused by the total, though %d sessions wrote 80 MiB each within a %d MiB total", sessions, total>>20)
	}
}

// A share is not a fixed slice of the total: a writer among idle, empty
// work dirs gets its whole budget; a second writer gets what the first
// leaves; and once the first's work dir is released, the second writes
// its whole budget too.
func TestWorkDirShareFollowsWriters(t *testing.T) {
	const total, each = 96 << 20, 64 << 20
	r := newTestRunner(t, Limits{WorkDirBytes: each, WorkDirTotal: total})
	base := t.TempDir()
	dir := func(s string) string { return filepath.Join(base, s) }
	for _, s := range []string{"idle-1", "idle-2", "idle-3"} {
		sessionRun(t, r, dir(s), "true")
	}
	sessionRun(t, r, dir("first"), "head -c 60M /dev/zero > f")

	var c collector
	res, err := r.Run(context.Background(), Spec{Command: "head -c 60M /dev/zero > f", WorkDir: dir("second"), Timeout: 30 * time.Second}, c.out)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode == 0 || res.LimitHit != "work_dir_total" || !strings.Contains(c.text(), "work_dir.total_mib") {
		t.Fatalf("60 MiB beside another session's 60 MiB within a 96 MiB total: %+v, %s", res, c.text())
	}
	r.Release(dir("first"))
	sessionRun(t, r, dir("second"), "head -c 60M /dev/zero > f")
	if h := heldNow(r); h > total {
		t.Fatalf("work dirs hold %d MiB past the %d MiB total", h>>20, total>>20)
	}
}

// The shares always sum to at most the total, never take from what a
// work dir holds, give an idle work dir nothing more, and share the rest
// among the busy ones, the smallest first, each up to its own budget.
func TestWorkDirAllot(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name string
		busy []bool
		held []int64
		want []int64
	}{
		{"one writer among empty idle dirs gets its budget", []bool{true, false, false}, []int64{0, 0, 0}, []int64{64 * mib, pageSize, pageSize}},
		{"writers share equally", []bool{true, true, true}, []int64{0, 0, 0}, []int64{32 * mib, 32 * mib, 32 * mib}},
		{"an idle dir keeps what it holds", []bool{true, false}, []int64{0, 90 * mib}, []int64{6 * mib, 90 * mib}},
		{"a big holder keeps its bytes, the small get the level", []bool{true, true, true}, []int64{60 * mib, 0, 2 * mib}, []int64{60 * mib, 18 * mib, 18 * mib}},
		{"nothing left: each keeps what it holds", []bool{true, true}, []int64{48 * mib, 48 * mib}, []int64{48 * mib, 48 * mib}},
	}
	lim := Limits{WorkDirBytes: 64 * mib, WorkDirTotal: 96 * mib}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := allot(lim, c.busy, c.held)
			var sum int64
			for i := range got {
				sum += got[i]
				if got[i] < c.held[i] {
					t.Errorf("dir %d: share %d below what it holds, %d", i, got[i], c.held[i])
				}
			}
			if sum > lim.WorkDirTotal {
				t.Errorf("shares %v sum to %d, past the total %d", got, sum, lim.WorkDirTotal)
			}
			for i := range got {
				if d := got[i] - c.want[i]; d < -2*pageSize || d > 2*pageSize {
					t.Errorf("shares %v, want about %v", got, c.want)
					break
				}
			}
		})
	}
}

// BenchmarkSpawnWorkDirShares measures spawn-to-exit of `true` in a task
// work dir beside six idle session work dirs: with a total every work
// dir fits in whole (no share is resized), and with a total that makes
// every command re-size the shares when its work dir is made, starts,
// ends and is released. Both in one run, so the cost of the shares is
// the difference.
//
//	go test -run '^$' -bench SpawnWorkDirShares -benchtime 300x ./sandbox
func BenchmarkSpawnWorkDirShares(b *testing.B) {
	bench := func(total int64) func(b *testing.B) {
		return func(b *testing.B) {
			testenv.NeedRoot(b)
			r, err := New(Config{StateDir: b.TempDir(), WarmInits: 1, Limits: Limits{WorkDirBytes: 64 << 20, WorkDirTotal: total}})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			base := b.TempDir()
			for i := range 6 {
				res, err := r.Run(context.Background(), Spec{Command: "head -c 1M /dev/zero > f", WorkDir: filepath.Join(base, fmt.Sprint("session-", i))}, nil)
				if err != nil || res.ExitCode != 0 {
					b.Fatalf("session %d: %+v, %v", i, res, err)
				}
			}
			settle := func() {
				for r.warm != nil && len(r.warm) < cap(r.warm) {
					time.Sleep(200 * time.Microsecond)
				}
			}
			measureSettled(b, settle, func() error {
				res, err := r.Run(context.Background(), Spec{Command: "true"}, nil)
				if err == nil && res.ExitCode != 0 {
					b.Fatalf("exit %d", res.ExitCode)
				}
				return err
			})
		}
	}
	b.Run("whole", bench(1<<30))
	b.Run("shared", bench(96<<20))
}

// The micro-VM backend's work dirs are tmpfs mounted on their host dirs;
// their shares are re-sized by path, and the kernel then refuses a write
// past one.
func TestWorkDirSharesOfMountedDirs(t *testing.T) {
	testenv.NeedRoot(t)
	lim := Limits{WorkDirBytes: 8 << 20, WorkDirTotal: 12 << 20}
	v := vmWorkDirs{}
	for _, name := range []string{"a", "b"} {
		dir := filepath.Join(t.TempDir(), name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		size := startSize(v, lim)
		if err := unix.Mount("amf-test-work", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, fmt.Sprintf("size=%d", size)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
		v[dir] = &vmWorkDir{dir: dir, size: size, runs: 1, used: time.Now()}
		rebalance(v, lim)
	}
	var sum int64
	for dir, w := range v {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		if got := int64(st.Blocks) * st.Bsize; got != w.size {
			t.Errorf("%s: the kernel says %d bytes, the share is %d", filepath.Base(dir), got, w.size)
		}
		sum += w.size
		if err := os.WriteFile(filepath.Join(dir, "f"), make([]byte, 7<<20), 0o644); !errors.Is(err, unix.ENOSPC) {
			t.Errorf("%s: 7 MiB in a %d MiB share: %v, want ENOSPC", filepath.Base(dir), w.size>>20, err)
		}
	}
	if sum > lim.WorkDirTotal {
		t.Fatalf("shares sum to %d, past the total %d", sum, lim.WorkDirTotal)
	}
}

// BenchmarkWorkDirLifeWithShares measures what a task's work dir costs
// the runner outside the command (make its tmpfs, take it, end, free it)
// beside six idle session work dirs: with a total they all fit in whole,
// and with one that re-sizes the shares at each step. The difference is
// the cost of the shares per task.
//
//	go test -run '^$' -bench WorkDirLifeWithShares ./sandbox
func BenchmarkWorkDirLifeWithShares(b *testing.B) {
	bench := func(total int64) func(b *testing.B) {
		return func(b *testing.B) {
			testenv.NeedRoot(b)
			w := newWorkDirs(0, Limits{WorkDirBytes: 64 << 20, WorkDirInodes: 1000, WorkDirTotal: total}, time.Hour)
			defer w.closeAll()
			base := b.TempDir()
			for i := range 6 {
				f, err := w.acquire(filepath.Join(base, fmt.Sprint("session-", i)))
				if err != nil {
					b.Fatal(err)
				}
				w.done(f)
			}
			task := filepath.Join(base, "task")
			b.ResetTimer()
			for range b.N {
				f, err := w.acquire(task)
				if err != nil {
					b.Fatal(err)
				}
				w.done(f)
				w.release(task)
			}
		}
	}
	b.Run("whole", bench(1<<30))
	b.Run("shared", bench(96<<20))
}
