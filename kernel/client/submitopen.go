package client

import (
	"context"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
)

// Submission is a task submitted and its event stream opened.
type Submission struct {
	Task      bus.Task
	Duplicate bool
	// Warning says why the task may wait (SubmitWarn).
	Warning string
	// Stream reads the task's events from the first. It is nil when it
	// could not be opened, and StreamErr says why: the task is submitted
	// all the same.
	Stream    *Stream
	StreamErr error
}

// SubmitOpen submits t and opens its event stream for reader. Through
// the task API it is one request: the kernel makes the stream's consumer
// once the task is recorded, while a worker takes it, so the first
// events wait for no second request (bus.HeaderDeliver). When the kernel
// made none (a refusal such as too many open streams, or a kernel that
// does not make them), the stream is opened as OpenAs does, which says
// why it cannot be. The error is the submission's, as SubmitWarn's.
func (c *Client) SubmitOpen(ctx context.Context, reader Reader, t bus.Task) (Submission, error) {
	if !c.ViaAPI || t.Schedule != "" {
		task, dup, warning, err := c.SubmitWarn(ctx, t)
		if err != nil {
			return Submission{Task: task}, err
		}
		s := Submission{Task: task, Duplicate: dup, Warning: warning}
		s.Stream, s.StreamErr = c.OpenAs(ctx, reader, task.ID, 0, true)
		return s, nil
	}
	if a, ok := AccessFrom(ctx); ok {
		t.Owner = a.Owner
	}
	var sub *replies
	header := func() (nats.Header, error) {
		if sub != nil {
			sub.close()
		}
		var deliver string
		var err error
		deliver, sub, err = c.readerInbox()
		if err != nil {
			return nil, err
		}
		h := nats.Header{bus.HeaderDeliver: {deliver}}
		if reader.Operator {
			h.Set(bus.HeaderOperator, "true")
		}
		return h, nil
	}
	task, answer, err := c.submitAPI(ctx, t, header)
	if err != nil {
		if sub != nil {
			sub.close()
		}
		return Submission{Task: task}, err
	}
	s := Submission{Task: task, Duplicate: answer.Duplicate, Warning: answer.Warning}
	if answer.Consumer != "" {
		s.Stream = &Stream{c: c, id: task.ID, reader: reader, follow: true, sub: sub, consumer: answer.Consumer}
		return s, nil
	}
	sub.close()
	s.Stream, s.StreamErr = c.OpenAs(ctx, reader, task.ID, 0, true)
	return s, nil
}
