package knowledge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// Bounds of a confirm request.
const (
	maxConfirmBytes = 4 << 10
	maxConfirmBy    = 200
)

// confirm answers one request on amf.api.memory.confirm: the memory must
// exist, its confirmation goes to the stream for every worker, and the
// reply is the memory once this index has applied it. Whether the caller
// may confirm at all was decided by nats-server before the request got
// here: only credentials allowed to publish on the subject (admin,
// bridge) reach it. The code is the micro error code.
func confirm(ctx context.Context, idx *Knowledge, data []byte) (memory.Match, string, error) {
	var req bus.ConfirmMemory
	if len(data) > maxConfirmBytes {
		return memory.Match{}, "400", fmt.Errorf("confirm request is %d bytes, the limit is %d", len(data), maxConfirmBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return memory.Match{}, "400", fmt.Errorf(`confirm request is not {"id":"<memory id>","by":"<who>"}: %w`, err)
	}
	if len(req.By) > maxConfirmBy {
		req.By = req.By[:maxConfirmBy]
	}
	sctx, cancel := context.WithTimeout(ctx, searchSyncWait)
	_ = idx.Sync(sctx)
	cancel()
	if _, err := idx.Get(req.ID); err != nil {
		return memory.Match{}, "404", fmt.Errorf("%w: no memory has id %q (see amf memory ls or search)", memory.ErrUnknownMemory, req.ID)
	}
	seq, err := idx.Confirm(ctx, req.ID, req.By)
	if err != nil {
		return memory.Match{}, "500", err
	}
	wctx, cancel := context.WithTimeout(ctx, searchSyncWait)
	err = idx.WaitSeq(wctx, seq)
	cancel()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return memory.Match{}, "500", err
	}
	m, err := idx.Get(req.ID)
	if err != nil {
		// Forgotten meanwhile: the confirmation is on the stream, and a
		// tombstone beat it.
		return memory.Match{}, "404", fmt.Errorf("%w: memory %q was forgotten while it was confirmed", memory.ErrUnknownMemory, req.ID)
	}
	if m.ConfirmedBy == "" {
		// The confirmation is on the stream; this index is only slow.
		m.ConfirmedBy = orUnnamed(req.By)
	}
	return m, "", nil
}
