package knowledge_test

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory/knowledge"
)

// BenchmarkLearnedToIndexed measures the learning path: from a worker's
// publish to the memory in another index. "bare" is a record an index
// applies as it comes (an operator's, as every record was before
// vouching); "vouched" is a worker credential's, which the index learns
// from the kernel's verdict after the voucher's two direct gets on the
// events stream and its publish. The task's events are stored before
// the timer runs, as a worker stores them while it runs the task.
func BenchmarkLearnedToIndexed(b *testing.B) {
	k := kerneltest.Start(b)
	kn := openKnowledge(b, k, knowledge.Config{})
	worker := workerPublisher(b, k, "bench-worker")
	names := bus.Names{}
	for _, tc := range []struct {
		name     string
		learn    func(bus.Learned) (string, error)
		prepared bool
	}{
		{"bare", func(l bus.Learned) (string, error) {
			if err := l.Normalize(); err != nil {
				return "", err
			}
			msg := nats.NewMsg(names.Learned())
			msg.Data = mustMarshal(b, l)
			_, err := k.JS.PublishMsg(ctxT(b), msg)
			return l.ID, err
		}, false},
		{"vouched", func(l bus.Learned) (string, error) { return worker.Publisher.Learn(ctxT(b), l) }, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				rec := bus.Learned{Instruction: fmt.Sprintf("%s: show the size of log file %d", tc.name, i), Command: fmt.Sprintf("du -h %d.log", i), TaskID: bus.NewID()}
				if tc.prepared {
					b.StopTimer()
					task := bus.Task{ID: rec.TaskID, Pool: bus.DefaultPool}
					if _, err := k.JS.PublishMsg(ctxT(b), names.EventMsg(bus.Event{TaskID: rec.TaskID, Type: bus.EventAccepted, Task: &task})); err != nil {
						b.Fatal(err)
					}
					if _, err := worker.JS.PublishMsg(ctxT(b), names.EventMsgBy(bus.Event{TaskID: rec.TaskID, Type: bus.EventAssigned}, bus.DefaultPool, worker.cred)); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				id, err := tc.learn(rec)
				if err != nil {
					b.Fatal(err)
				}
				syncKn(b, kn)
				if _, err := kn.Get(id); err != nil {
					b.Fatalf("not indexed after sync: %v", err)
				}
			}
		})
	}
}
