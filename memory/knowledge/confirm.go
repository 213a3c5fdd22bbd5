package knowledge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// maxConfirmBytes bounds a confirm request.
const maxConfirmBytes = 4 << 10

// confirm answers one request on amf.api.memory.confirm: the memory
// must exist, and the reply is the memory as this index knows it. The
// asker publishes the confirmation itself (client.ConfirmMemory): a
// worker's credential may not publish amf.memory.confirmed, so it cannot
// confirm what it learned. Whether the caller may ask was decided by
// nats-server before the request got here: only credentials allowed to
// publish on the subject (admin, bridge) reach it. The code is the micro
// error code.
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
	sctx, cancel := context.WithTimeout(ctx, searchSyncWait)
	_ = idx.Sync(sctx)
	cancel()
	m, err := idx.Get(req.ID)
	if err != nil {
		return memory.Match{}, "404", fmt.Errorf("%w: no memory has id %q (see amf memory ls or search)", memory.ErrUnknownMemory, req.ID)
	}
	return m, "", nil
}
