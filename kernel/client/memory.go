package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// maxConfirmBy bounds the name a confirmation is recorded under.
const maxConfirmBy = 200

// ConfirmMemory confirms memory id for blind reuse, in the name of by,
// and returns the memory as confirmed: a worker (its amf-memory service)
// says the memory exists, then this credential publishes the
// confirmation on amf.memory.confirmed for every worker. nats-server
// decides who may: a credential without the right to publish on
// amf.api.memory.confirm and amf.memory.confirmed (a client's, a
// worker's) gets ErrForbidden; an unknown id is bus.ErrUnknownMemory.
func (c *Client) ConfirmMemory(ctx context.Context, id, by string) (bus.Match, error) {
	if len(by) > maxConfirmBy {
		by = by[:maxConfirmBy]
	}
	body, err := json.Marshal(bus.ConfirmMemory{ID: id, By: by})
	if err != nil {
		return bus.Match{}, fmt.Errorf("confirm memory %s: %w", id, err)
	}
	subject := c.Names.MemoryConfirm()
	reply, err := c.request(ctx, subject, body)
	switch {
	case errors.Is(err, nats.ErrPermissionViolation):
		return bus.Match{}, fmt.Errorf("%w: this credential may not confirm memories (%s): use an admin credential or an admin token on the bridge", ErrForbidden, subject)
	case errors.Is(err, ErrNotFound):
		return bus.Match{}, fmt.Errorf("confirm: %w: no memory has id %q (see amf memory ls or search)", bus.ErrUnknownMemory, id)
	case errors.Is(err, ErrUnavailable):
		return bus.Match{}, fmt.Errorf("confirm memory %s: %w (workers answer confirmations: is one running? start one with amf up or amf worker)", id, err)
	case err != nil:
		return bus.Match{}, fmt.Errorf("confirm memory %s: %w", id, err)
	}
	var m bus.Match
	if err := json.Unmarshal(reply, &m); err != nil || m.ID != id {
		return bus.Match{}, fmt.Errorf("%w: confirm answered %q", ErrUnavailable, reply)
	}
	// Any worker credential may answer, another pool's too; the id is a
	// digest of the memory's owner, instruction and command, so an answer
	// showing another command than the id's is no index's, and confirming
	// on its word would confirm for everyone what nobody was shown.
	if bus.MemoryIDOf(m.Owner, m.Instruction, m.Command) != id {
		return bus.Match{}, fmt.Errorf("%w: the answer for memory %s shows a command that is not that memory's (%q): a worker credential answered falsely; nothing was confirmed", ErrUnavailable, id, m.Command)
	}
	err = c.publishConfirmed(ctx, bus.MemoryConfirmed{ID: id, By: by, TS: time.Now().UTC()})
	switch {
	case errors.Is(err, nats.ErrPermissionViolation):
		return bus.Match{}, fmt.Errorf("%w: this credential may not confirm memories (%s): use an admin credential or an admin token on the bridge", ErrForbidden, c.Names.MemoryConfirmed())
	case err != nil:
		return bus.Match{}, fmt.Errorf("confirm memory %s: %w", id, err)
	}
	m.ConfirmedBy = by
	if by == "" {
		m.ConfirmedBy = "unnamed user"
	}
	return m, nil
}

// publishConfirmed publishes a confirmation on amf.memory.confirmed, the
// subject every worker's index applies. nats-server answers a denied
// publish with no acknowledgement and records the violation on the
// connection, so that is where a refusal is read.
func (c *Client) publishConfirmed(ctx context.Context, conf bus.MemoryConfirmed) error {
	data, err := json.Marshal(conf)
	if err != nil {
		return fmt.Errorf("encode confirmation: %w", err)
	}
	js, err := jetstream.New(c.NC)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	subject := c.Names.MemoryConfirmed()
	if _, err := js.Publish(ctx, subject, data); err != nil {
		if last := c.NC.LastError(); errors.Is(last, nats.ErrPermissionViolation) && strings.Contains(last.Error(), `"`+subject+`"`) {
			return fmt.Errorf("publish %s: %w", subject, last)
		}
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	return nil
}
