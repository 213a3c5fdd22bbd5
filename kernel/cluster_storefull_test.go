package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/sandbox"
	"github.com/amf-os/amf/workers"
)

// The disk of every kernel of a cluster (three, each store on its own
// 48 MiB tmpfs, nearly filled by other files; the shipped cluster
// configuration) fills up while tasks of 100 KB are submitted for a pool
// no worker serves: submissions are refused at once as store full, and
// the kernels say why. Once the files are removed the cluster takes
// tasks again without a restart, and when a worker comes every task that
// was accepted reaches a terminal event.
func TestClusterStoreFullRefusesAndRecovers(t *testing.T) {
	testenv.NeedRoot(t)
	var stores, ballasts [3]string
	for i := range stores {
		stores[i] = t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "amf-store", stores[i]).CombinedOutput(); err != nil {
			t.Fatalf("mount tmpfs: %v\n%s", err, out)
		}
		dir := stores[i]
		t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
		ballasts[i] = filepath.Join(stores[i], "ballast")
		if err := os.WriteFile(ballasts[i], make([]byte, 34<<20), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	servers, creds := startCluster(t, func(i int, s *kernel.Server) {
		s.StateDir, s.TasksMaxBytes = stores[i], 8<<20
	})
	nc, err := nats.Connect(servers[0].ClientURL(), nats.UserCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c := &client.Client{NC: nc}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	var accepted []string
	refused := false
	for i := 0; i < 300 && !refused; i++ {
		id := fmt.Sprintf("fill-%d", i)
		sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
		_, _, err := c.Submit(sctx, bus.Task{ID: id, Pool: "late", Command: "echo " + strings.Repeat("x", 100<<10) + " >/dev/null"})
		scancel()
		switch {
		case err == nil:
			accepted = append(accepted, id)
		case errors.Is(err, client.ErrStoreFull):
			refused = true
		default:
			t.Fatalf("submission %d after %d accepted: %v; want it accepted or refused as store full", i, len(accepted), err)
		}
	}
	if !refused || len(accepted) == 0 {
		t.Fatalf("%d tasks of 100 KB accepted, refused %v, on nearly full disks", len(accepted), refused)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !anyFull(servers) {
		if time.Now().After(deadline) {
			t.Fatalf("no kernel reports its store full after a submission was refused as store full")
		}
		time.Sleep(200 * time.Millisecond)
	}

	for _, b := range ballasts {
		if err := os.Remove(b); err != nil {
			t.Fatal(err)
		}
	}
	deadline = time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		id := fmt.Sprintf("after-%d", i)
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		_, _, err := c.Submit(sctx, bus.Task{ID: id, Pool: "late", Command: "true"})
		scancel()
		if err == nil {
			accepted = append(accepted, id)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("60 s after space was freed the cluster still refuses: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for anyFull(servers) {
		if time.Now().After(deadline) {
			t.Fatalf("a kernel still reports its store full 60 s after space was freed")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A worker of the pool, on another kernel, ends every accepted task.
	wnc, err := nats.Connect(servers[1].ClientURL(), nats.UserCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wnc.Close)
	runner, err := sandbox.NewHost(sandbox.Config{StateDir: t.TempDir(), Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	w, err := workers.NewWorker(workers.Config{NC: wnc, Pool: "late", ID: "late-1", Concurrency: 8, Logger: kerneltest.Logger(t),
		SolverConfig: workers.SolverConfig{Runner: runner}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() { wcancel(); <-done })

	open := map[string]bool{}
	for _, id := range accepted {
		open[id] = true
	}
	deadline = time.Now().Add(2 * time.Minute)
	for len(open) > 0 {
		for id := range open {
			e, err := c.LastEvent(ctx, id)
			if err == nil && e.Type.Terminal() {
				delete(open, id)
			}
		}
		if len(open) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted tasks have no terminal event 2 minutes after a worker came, e.g. %v", len(open), len(accepted), someKeys(open, 5))
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("%d tasks accepted on full disks and after; every one ended", len(accepted))
}

func anyFull(servers []*kernel.Server) bool {
	for _, s := range servers {
		if r := s.Store(); r.Full && strings.Contains(r.Reason, "store full") {
			return true
		}
	}
	return false
}

func someKeys(m map[string]bool, n int) []string {
	var ks []string
	for k := range m {
		if len(ks) == n {
			break
		}
		ks = append(ks, k)
	}
	return ks
}
