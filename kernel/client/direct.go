package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/amf-os/amf/kernel/bus"
)

// directBatch bounds one batch direct get: enough to read a typical task
// in one round trip, small enough not to blast a slow reader.
const directBatch = 512

// directRead calls fn with each stored event of the task from fromSeq up
// to and including toSeq, using batch direct gets: the server answers
// from the stream's store and keeps nothing for the reader, so a reader
// that goes away leaves nothing behind. It returns the sequence of the
// last event passed to fn (0 when none).
func (c *Client) directRead(ctx context.Context, id string, fromSeq, toSeq uint64, fn func(RawEvent) error) (uint64, error) {
	subject := c.Names.TaskEvents(id)
	api := "$JS.API.DIRECT.GET." + c.Names.EventsStream()
	var last uint64
	for seq := fromSeq; seq <= toSeq; {
		req, _ := json.Marshal(struct {
			Seq      uint64 `json:"seq"`
			NextFor  string `json:"next_by_subj"`
			Batch    int    `json:"batch"`
			MaxBytes int    `json:"max_bytes"`
		}{seq, subject, directBatch, 4 << 20})
		inbox := c.NC.NewInbox()
		// A batch answers at most directBatch events and its end marker.
		sub, err := c.subscribeReplies(inbox, directBatch+2)
		if err != nil {
			return last, fmt.Errorf("read %s: %w", id, err)
		}
		next, more, err := c.readBatch(ctx, sub, api, inbox, req, toSeq, func(r RawEvent) error {
			last = r.Seq
			return fn(r)
		})
		sub.close()
		if err != nil || !more {
			return last, err
		}
		if next <= seq {
			return last, fmt.Errorf("read %s: direct get did not advance past %d", id, seq)
		}
		seq = next
	}
	return last, nil
}

// readBatch sends one batch request and reads its answers up to the end
// of batch marker. It returns where the next batch starts and whether
// there may be more to read below toSeq.
func (c *Client) readBatch(ctx context.Context, sub *replies, api, inbox string, req []byte, toSeq uint64, fn func(RawEvent) error) (next uint64, more bool, err error) {
	if err := c.NC.PublishRequest(api, inbox, req); err != nil {
		return 0, false, fmt.Errorf("direct get: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, directTimeout)
	defer cancel()
	var fnErr error
	for {
		msg, err := sub.next(ctx)
		if err != nil {
			return 0, false, fmt.Errorf("direct get: %w", err)
		}
		switch status := msg.Header.Get("Status"); status {
		case "":
		case "204": // end of batch
			if fnErr != nil {
				return 0, false, fnErr
			}
			pending, _ := strconv.ParseUint(msg.Header.Get("Nats-Num-Pending"), 10, 64)
			return next, pending > 0 && next > 0 && next <= toSeq, nil
		case "404": // nothing at or after the requested sequence
			return 0, false, fnErr
		case "408", "503":
			return 0, false, fmt.Errorf("%w: direct get answered %s %s", ErrUnavailable, status, msg.Header.Get("Description"))
		default:
			return 0, false, fmt.Errorf("direct get answered %s %s", status, msg.Header.Get("Description"))
		}
		seq, err := strconv.ParseUint(msg.Header.Get("Nats-Sequence"), 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("direct get: message without sequence")
		}
		next = seq + 1
		// The rest of the batch is still read, to reach its end marker,
		// but passed on only up to toSeq and until fn fails.
		if seq > toSeq || fnErr != nil {
			continue
		}
		fnErr = fn(RawEvent{Seq: seq, Type: bus.MsgEventType(msg.Header, msg.Data), Subject: msg.Header.Get("Nats-Subject"), Data: msg.Data})
	}
}
