package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/amf-os/amf/sandbox/internal/seccompfilter"
	"golang.org/x/sys/unix"
)

// TestInstalledFilterIsAFreshAssembly reads, from outside, the seccomp
// filter a confined command runs under (PTRACE_SECCOMP_GET_FILTER on the
// command itself) and holds it to a fresh assembly of the program: the
// filter the runner assembles once and hands to each init is the one the
// kernel enforces, instruction for instruction, and the command has one
// filter, not one more or fewer.
func TestInstalledFilterIsAFreshAssembly(t *testing.T) {
	r := escapeRunner(t, Limits{})
	want, err := seccompfilter.Program()
	if err != nil {
		t.Fatal(err)
	}
	mark := fmt.Sprintf("%d.%d", os.Getpid(), time.Now().UnixNano()%1e6)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(ctx, Spec{Command: "exec sleep " + mark, Timeout: time.Minute}, func(Stream, string) {})
		done <- err
	}()
	pid := waitForCmdline(t, "sleep\x00"+mark+"\x00", done)
	got := installedFilter(t, pid)
	count, ours := seccompFilters(t, pid), seccompFilters(t, os.Getpid())
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if count != ours+1 {
		t.Fatalf("the command runs under %d seccomp filters, want %d (the worker's %d and its own)", count, ours+1, ours)
	}
	wantRaw := unsafe.Slice((*byte)(unsafe.Pointer(&want[0])), len(want)*8)
	gotRaw := unsafe.Slice((*byte)(unsafe.Pointer(&got[0])), len(got)*8)
	if !bytes.Equal(gotRaw, wantRaw) {
		t.Fatalf("installed filter (%d instructions) differs from a fresh assembly (%d)", len(got), len(want))
	}
}

// waitForCmdline returns the host pid of the process whose command line
// is cmdline.
func waitForCmdline(t *testing.T, cmdline string, done <-chan error) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("command ended before it was found: %v", err)
		default:
		}
		ents, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, e := range ents {
			if b, err := os.ReadFile(e); err == nil && string(b) == cmdline {
				var pid int
				fmt.Sscanf(strings.TrimPrefix(e, "/proc/"), "%d", &pid)
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no process with command line %q", cmdline)
	return 0
}

// seccompFilters is how many seccomp filters pid runs under.
func seccompFilters(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Seccomp_filters:"); ok {
			var n int
			if _, err := fmt.Sscan(v, &n); err != nil {
				t.Fatalf("read %q: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("/proc/%d/status has no Seccomp_filters line", pid)
	return 0
}

// installedFilter stops pid under ptrace and reads its newest seccomp
// filter.
func installedFilter(t *testing.T, pid int) []unix.SockFilter {
	t.Helper()
	runtime.LockOSThread() // ptrace requests come from the tracer thread
	defer runtime.UnlockOSThread()
	if err := unix.PtraceAttach(pid); err != nil {
		t.Fatalf("ptrace attach %d: %v", pid, err)
	}
	defer unix.PtraceDetach(pid)
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		t.Fatalf("wait for %d to stop: %v", pid, err)
	}
	get := func(index int, buf []unix.SockFilter) (int, unix.Errno) {
		var p uintptr
		if len(buf) > 0 {
			p = uintptr(unsafe.Pointer(&buf[0]))
		}
		n, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(pid), uintptr(index), p, 0, 0)
		return int(n), e
	}
	n, e := get(0, nil)
	if e != 0 {
		t.Fatalf("read seccomp filter of %d: %v", pid, e)
	}
	f := make([]unix.SockFilter, n)
	if _, e := get(0, f); e != 0 {
		t.Fatalf("read seccomp filter of %d: %v", pid, e)
	}
	return f
}
