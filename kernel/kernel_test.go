package kernel_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

func TestRestartKeepsStreamsAndMessages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	names := bus.Names{}
	k := kerneltest.StartIn(t, dir)
	for _, subj := range []string{names.Task("default"), names.Event("t1"), names.Learned()} {
		if _, err := k.JS.Publish(ctx, subj, []byte(`{}`)); err != nil {
			t.Fatalf("publish %s: %v", subj, err)
		}
	}
	k.Stop()

	k2 := kerneltest.StartIn(t, dir)
	for _, stream := range []string{names.TasksStream(), names.EventsStream(), names.MemoryStream()} {
		s, err := k2.JS.Stream(ctx, stream)
		if err != nil {
			t.Fatalf("stream %s after restart: %v", stream, err)
		}
		info, err := s.Info(ctx, jetstream.WithSubjectFilter(">"))
		if err != nil {
			t.Fatal(err)
		}
		// Beside the record, the memory stream holds the kernel's
		// vouching marker once it is placed (kernel/vouch): once, across
		// restarts.
		marker := info.State.Subjects[names.MemoryVouching()]
		if marker > 1 {
			t.Errorf("%s holds %d vouching markers, want at most 1", stream, marker)
		}
		if got, want := info.State.Msgs-marker, uint64(1); got != want {
			t.Errorf("%s holds %d messages after restart, want %d", stream, got, want)
		}
	}
}
