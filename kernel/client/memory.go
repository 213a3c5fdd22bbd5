package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// maxConfirmBy bounds the name a confirmation is recorded under.
const maxConfirmBy = 200

// ConfirmMemory confirms memory id for blind reuse, in the name of by,
// and returns the memory as confirmed: a worker (its amf-memory service)
// says the memory exists, then this credential publishes the
// confirmation on amf.memory.confirmed for every worker. nats-server
// decides who may: a credential without the right to publish on
// amf.api.memory.confirm and amf.memory.confirmed (a client's, a
// worker's) gets ErrForbidden; an unknown id is memory.ErrUnknownMemory.
func (c *Client) ConfirmMemory(ctx context.Context, id, by string) (memory.Match, error) {
	if len(by) > maxConfirmBy {
		by = by[:maxConfirmBy]
	}
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
	if err := json.Unmarshal(reply, &m); err != nil || m.ID != id {
		return memory.Match{}, fmt.Errorf("%w: confirm answered %q", ErrUnavailable, reply)
	}
	js, err := jetstream.New(c.NC)
	if err != nil {
		return memory.Match{}, fmt.Errorf("confirm memory %s: %w", id, err)
	}
	_, err = memory.Publisher{JS: js, Names: c.Names}.Confirm(ctx, id, by)
	switch {
	case errors.Is(err, nats.ErrPermissionViolation):
		return memory.Match{}, fmt.Errorf("%w: this credential may not confirm memories (%s): use an admin credential or an admin token on the bridge", ErrForbidden, c.Names.MemoryConfirmed())
	case err != nil:
		return memory.Match{}, fmt.Errorf("confirm memory %s: %w", id, err)
	}
	m.ConfirmedBy = by
	if by == "" {
		m.ConfirmedBy = "unnamed user"
	}
	return m, nil
}
