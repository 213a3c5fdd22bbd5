package sandbox

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sessionRun runs cmd in the session work dir dir and returns its output.
func sessionRun(t *testing.T, r *NamespaceRunner, dir, cmd string) string {
	t.Helper()
	var c collector
	res, err := r.Run(context.Background(), Spec{Command: cmd, WorkDir: dir, Timeout: 30 * time.Second}, c.out)
	if err != nil {
		t.Fatalf("%q in %s: %v", cmd, filepath.Base(dir), err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("%q in %s: exit %d: %s", cmd, filepath.Base(dir), res.ExitCode, c.text())
	}
	return c.text()
}

// Sessions that each leave data behind cannot hold more than the
// runner's total: a new session's work dir frees the least recently
// used idle one.
func TestWorkDirTotalFreesIdleSessions(t *testing.T) {
	r := newTestRunner(t, Limits{WorkDirBytes: 48 << 20, WorkDirTotal: 64 << 20})
	base := t.TempDir()
	dos := func(i string) string { return filepath.Join(base, "dos-"+i) }
	sessionRun(t, r, dos("1"), "head -c 40M /dev/zero > fill && echo kept > note")
	sessionRun(t, r, dos("2"), "head -c 40M /dev/zero > fill")
	sessionRun(t, r, dos("3"), "head -c 40M /dev/zero > fill")

	r.workdirs.mu.Lock()
	_, held1 := r.workdirs.fs[dos("1")]
	_, held3 := r.workdirs.fs[dos("3")]
	used := usedBytes(r.workdirs)
	r.workdirs.mu.Unlock()
	if held1 || !held3 {
		t.Fatalf("dos-1 held %v, dos-3 held %v: the least recently used idle session should make room", held1, held3)
	}
	if used > 64<<20+48<<20 {
		t.Fatalf("work dirs hold %d MiB past the 64 MiB total and one work dir", used>>20)
	}
	if out := sessionRun(t, r, dos("1"), "ls"); strings.Contains(out, "note") {
		t.Fatalf("a freed session dir kept its files: %q", out)
	}
}

// When every work dir is in use, a new one is refused with an error that
// names the limit and how to make room; once a command ends, its idle
// work dir makes room again.
func TestWorkDirCountRefusesPastTheCap(t *testing.T) {
	r := newTestRunner(t, Limits{WorkDirMax: 2})
	base := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = r.Run(ctx, Spec{Command: "sleep 600", WorkDir: filepath.Join(base, s), Timeout: 10 * time.Minute}, nil)
		}()
	}
	// Wait until both commands hold their work dirs.
	for {
		r.workdirs.mu.Lock()
		busy := 0
		for _, f := range r.workdirs.fs {
			busy += f.runs
		}
		r.workdirs.mu.Unlock()
		if busy == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, err := r.Run(context.Background(), Spec{Command: "true", WorkDir: filepath.Join(base, "c")}, nil)
	if !errors.Is(err, ErrWorkDirBudget) || !strings.Contains(err.Error(), "work_dir.max_dirs") || !strings.Contains(err.Error(), "limit is 2") {
		t.Fatalf("third work dir: err %v, want ErrWorkDirBudget naming work_dir.max_dirs and its value", err)
	}
	cancel()
	wg.Wait()
	sessionRun(t, r, filepath.Join(base, "c"), "true")
	r.workdirs.mu.Lock()
	n := len(r.workdirs.fs)
	r.workdirs.mu.Unlock()
	if n > 2 {
		t.Fatalf("%d work dirs live, the limit is 2", n)
	}
}
