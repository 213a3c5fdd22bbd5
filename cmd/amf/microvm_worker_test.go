package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	kapi "github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory/cache"
)

// A worker started with --sandbox microvm runs tasks in guests, unchanged
// otherwise; a task whose profile names the microvm backend runs in a
// guest while the worker's own backend is the namespace one. The guest
// runs the Debian kernel under /boot, not the host's.
func TestWorkerRunsTasksInMicroVMs(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedBinary(t, "qemu-system-x86_64")
	var host syscall.Utsname
	syscall.Uname(&host)
	hostRelease := utsString(host.Release[:])

	k := kerneltest.Start(t)
	client := &kapi.Client{NC: k.NC, JS: k.JS}
	// A worker credential opens the hot cache's buckets but may not
	// make them.
	if _, err := cache.NewKVCache(context.Background(), k.JS); err != nil {
		t.Fatal(err)
	}
	profiles := filepath.Join(t.TempDir(), "profiles.yaml")
	if err := os.WriteFile(profiles, []byte(`default: strict
profiles:
  strict:
    rules: [syntax]
  vm:
    backend: microvm
    rules: [syntax]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		policy string
	}{
		{"worker backend", []string{"--sandbox", "microvm"}, ""},
		{"profile backend", []string{"--profiles", profiles}, "vm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := []string{"AMF_NATS_URL=" + k.ClientURL(), "AMF_STATE_DIR=" + t.TempDir(), "OLLAMA_HOST=http://127.0.0.1:1",
				"AMF_NATS_CREDS=" + k.Creds(kernel.UserSpec{Role: kernel.RoleWorker}), "AMF_MICROVM_ACCEL=tcg"}
			w := startAmf(t, env, append([]string{"worker", "--id", "microvm-worker", "--concurrency", "1"}, tc.args...)...)
			defer w.kill()
			task, _, err := client.Submit(context.Background(), bus.Task{Command: "uname -r", Policy: tc.policy})
			if err != nil {
				t.Fatal(err)
			}
			// An emulated guest boots in seconds, many on a loaded host.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			var evs []bus.Event
			if err := client.Watch(ctx, task.ID, 0, true, func(e bus.Event) error { evs = append(evs, e); return nil }); err != nil {
				t.Fatalf("watch: %v\n%s", err, w.Output())
			}
			e := lastEvent(evs)
			release := strings.TrimSpace(e.Output)
			if e.Type != bus.EventDone || release == "" || release == hostRelease {
				t.Fatalf("task ended %+v; want done on a guest kernel, not the host's %s\n%s", e, hostRelease, w.Output())
			}
			if _, err := os.Stat(filepath.Join("/lib/modules", release, "kernel/fs/9p/9p.ko")); err != nil {
				t.Errorf("the task ran on kernel %q, not one of the host's Debian kernels: %v", release, err)
			}
		})
	}
}

func utsString(b []int8) string {
	var s strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		s.WriteByte(byte(c))
	}
	return s.String()
}
