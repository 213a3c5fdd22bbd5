package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// ConfirmMemory asks the fleet's memory (a worker's amf-memory service)
// to confirm memory id for blind reuse, in the name of by, and returns
// the memory as confirmed. nats-server decides who may ask: a credential
// without the right to publish on amf.api.memory.confirm (a client's)
// gets ErrForbidden; an unknown id is memory.ErrUnknownMemory.
func (c *Client) ConfirmMemory(ctx context.Context, id, by string) (memory.Match, error) {
	body, err := json.Marshal(bus.ConfirmMemory{ID: id, By: by})
	if err != nil {
		return memory.Match{}, fmt.Errorf("confirm memory %s: %w", id, err)
	}
	subject := c.Names.MemoryConfirm()
	reply, err := c.request(ctx, subject, body)
	switch {
	case errors.Is(err, nats.ErrPermissionViolation):
		return memory.Match{}, fmt.Errorf("%w: this credential may not confirm memories (%s): use an admin credential or an admin token on the bridge", ErrForbidden, subject)
	case errors.Is(err, ErrNotFound):
		return memory.Match{}, fmt.Errorf("confirm: %w: no memory has id %q (see amf memory ls or search)", memory.ErrUnknownMemory, id)
	case errors.Is(err, ErrUnavailable):
		return memory.Match{}, fmt.Errorf("confirm memory %s: %w (workers answer confirmations: is one running? start one with amf up or amf worker)", id, err)
	case err != nil:
		return memory.Match{}, fmt.Errorf("confirm memory %s: %w", id, err)
	}
	var m memory.Match
	if err := json.Unmarshal(reply, &m); err != nil || m.ID == "" {
		return memory.Match{}, fmt.Errorf("%w: confirm answered %q", ErrUnavailable, reply)
	}
	return m, nil
}
