//go:build linux

package sandbox

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

func spawnerPid(r *NamespaceRunner) int {
	r.spawner.mu.Lock()
	defer r.spawner.mu.Unlock()
	return r.spawner.pid
}

// gone reports whether pid has exited and been reaped.
func gone(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return os.IsNotExist(err)
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !gone(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still there", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A spawner that dies takes its inits with it, but not the runner.
func TestSpawnerRestarts(t *testing.T) {
	r := newTestRunner(t, Limits{})
	old := spawnerPid(r)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, old)
	for i := 0; i < 3; i++ {
		if res, out := run(t, r, "", "echo ok", 10*time.Second); res.ExitCode != 0 || out != "stdout: ok" {
			t.Fatalf("after the spawner died: %+v %q", res, out)
		}
	}
	if spawnerPid(r) == old {
		t.Error("no new spawner")
	}
}

// Closing the spawner lets a running command finish, then it exits.
// Idle warm inits would hold it too; Close discards those first.
func TestSpawnerOutlivesClose(t *testing.T) {
	testenv.NeedRoot(t)
	r, err := New(Config{StateDir: t.TempDir(), WarmInits: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	done := make(chan string)
	go func() {
		res, err := r.Run(t.Context(), Spec{Command: "sleep 0.5; echo done", Timeout: 10 * time.Second}, nil)
		if err != nil {
			done <- err.Error()
			return
		}
		done <- strconv.Itoa(res.ExitCode + 1)
	}()
	time.Sleep(200 * time.Millisecond)
	pid := spawnerPid(r)
	r.spawner.close()
	if got := <-done; got != "1" {
		t.Fatalf("command across Close: %s", got)
	}
	waitGone(t, pid)
}
