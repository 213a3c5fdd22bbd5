package status_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/kernel/status"
	"github.com/amf-os/amf/memory/cache"
)

// After a load the projector holds no status of a task that ended, only
// its id: the kernel's memory returns after the load instead of keeping
// every task's instruction, command and answer. A running task's status
// stays in full, and an ended task's next event still folds onto its
// whole status.
func TestProjectorKeepsNoEndedStatus(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	c, err := cache.NewKVCache(ctxT(t), k.JS)
	if err != nil {
		t.Fatal(err)
	}
	p := &status.StatusProjector{JS: k.JS, Cache: c, Logger: kerneltest.Logger(t), HealthEvery: 100 * time.Millisecond}
	runProjector(t, p)
	big := strings.Repeat("x", 8<<10)
	const n = 40
	for i := range n {
		id := fmt.Sprintf("t%d", i)
		publishEvent(t, k, bus.Event{TaskID: id, Type: bus.EventAccepted, Task: &bus.Task{ID: id, Instruction: big, Pool: "default"}})
		publishEvent(t, k, bus.Event{TaskID: id, Type: bus.EventDone, Answer: big, Exec: &bus.ExecResult{ExitCode: 0}})
	}
	taskLife(t, k, "running", false)
	testenv.Eventually(t, "every status stored", func() bool {
		return statusIs(c, fmt.Sprintf("t%d", n-1), bus.StateDone)() && statusIs(c, "running", bus.StateRunning)()
	})
	if full, tasks := status.Remembered(p); full != 1 || tasks != n+1 {
		t.Fatalf("the projector holds %d statuses in full of %d tasks; want only the running one's of %d", full, tasks, n+1)
	}
	publishEvent(t, k, bus.Event{TaskID: "t0", Type: bus.EventFailed, Reason: "late"})
	publishEvent(t, k, bus.Event{TaskID: "running", Type: bus.EventDone, Exec: &bus.ExecResult{ExitCode: 0}})
	testenv.Eventually(t, "running done", statusIs(c, "running", bus.StateDone))
	s, err := c.Status(ctxT(t), "t0")
	if err != nil || s.State != bus.StateDone || s.Instruction != big {
		t.Fatalf("t0 after an event past its end: %+v, %v; want it done with its instruction", s.State, err)
	}
	if full, _ := status.Remembered(p); full != 0 {
		t.Fatalf("%d statuses held in full once every task ended", full)
	}
}
