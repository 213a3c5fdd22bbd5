package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// DecodeTaskMsg decodes a task as it arrives on the bus, by hand or from a
// client, and applies the id rule once for every reader: the body's id,
// else the Nats-Msg-Id header, else "t-seq<N>" from the stream sequence
// (seq > 0, so every delivery of one message agrees), else a new id.
//
// The returned task carries that id even when err is not nil, so a
// failure can be reported on the task's own event subject.
func DecodeTaskMsg(data []byte, h nats.Header, seq uint64) (Task, error) {
	t, err := parseTask(data)
	bodyID := t.ID
	if err != nil {
		bodyID = PeekID(data)
	}
	// An invalid body id is reported, under the id the rule falls back to.
	t.ID = fallbackID(bodyID, h, seq)
	switch {
	case err != nil:
		return Task{ID: t.ID}, err
	case bodyID != "" && bodyID != t.ID:
		return Task{ID: t.ID}, fmt.Errorf("%w: id %q may hold only letters, digits, '-' and '_' (at most 128)", ErrInvalidTask, bodyID)
	case bodyID == "" && h.Get(HeaderMsgID) != "" && h.Get(HeaderMsgID) != t.ID:
		return Task{ID: t.ID}, fmt.Errorf("%w: %s header %q is not a valid task id: letters, digits, '-' and '_' only", ErrInvalidTask, HeaderMsgID, h.Get(HeaderMsgID))
	}
	if err := t.Normalize(); err != nil {
		return Task{ID: t.ID}, err
	}
	return t, nil
}

// fallbackID is the id rule after the body: a valid body id, the
// de-duplication header, the stream sequence, or a fresh id.
func fallbackID(bodyID string, h nats.Header, seq uint64) string {
	switch {
	case ValidToken(bodyID):
		return bodyID
	case ValidToken(h.Get(HeaderMsgID)):
		return h.Get(HeaderMsgID)
	case seq > 0:
		return "t-seq" + strconv.FormatUint(seq, 10)
	}
	return NewID()
}

// parseTask is the wire syntax of a task, without defaults or validation
// of its values. An id it finds is kept even when it is not valid.
func parseTask(data []byte) (Task, error) {
	var t Task
	if len(data) > MaxTaskBytes {
		return t, fmt.Errorf("%w: task is %d bytes, the limit is %d", ErrTooLarge, len(data), MaxTaskBytes)
	}
	if !utf8.Valid(data) {
		return t, fmt.Errorf("%w: body is not valid UTF-8", ErrInvalidTask)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return t, fmt.Errorf("%w: body is empty; send a JSON object such as {\"instruction\":\"list files\"}", ErrInvalidTask)
	}
	// Exact field names and each key once: see checkKeys.
	if err := checkKeys(data, t); err != nil && !errors.Is(err, errSyntax) {
		return Task{}, fmt.Errorf("%w: %s", ErrInvalidTask, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Task{}, fmt.Errorf("%w: %s", ErrInvalidTask, jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Task{}, fmt.Errorf("%w: unexpected data after the JSON object", ErrInvalidTask)
	}
	return t, nil
}
