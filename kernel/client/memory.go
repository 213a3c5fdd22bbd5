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
// says the memory exists (MemoryToConfirm), then this credential
// publishes the confirmation on amf.memory.confirmed for every worker
// (ConfirmShown). nats-server decides who may: a credential without the
// right to publish on amf.api.memory.confirm and amf.memory.confirmed (a
// client's, a worker's) gets ErrForbidden; an unknown id is
// bus.ErrUnknownMemory.
func (c *Client) ConfirmMemory(ctx context.Context, id, by string) (bus.Match, error) {
	m, _, err := c.MemoryToConfirm(ctx, id)
	if err != nil {
		return bus.Match{}, err
	}
	return c.ConfirmShown(ctx, m, by)
}

// MemoryToConfirm returns memory id as a worker's index knows it, for a
// user to see before confirming it, and the answers that showed another
// memory under that id (ignored). Any worker credential, of any pool, may
// answer; the id is a digest of the memory's owner, instruction and
// command, so only an answer whose content is the id's is taken
// (MemoryAsShown): what it shows is exactly what a confirmation of id
// vouches for. Errors are ConfirmMemory's; when every answer showed
// another memory, ErrUnavailable.
func (c *Client) MemoryToConfirm(ctx context.Context, id string) (bus.Match, []bus.MismatchedAnswer, error) {
	subject := c.Names.MemoryConfirm()
	m, mismatched, err := MemoryAsShown(ctx, c.NC, c.Names, id)
	switch {
	case errors.Is(err, nats.ErrPermissionViolation):
		return bus.Match{}, nil, fmt.Errorf("%w: this credential may not confirm memories (%s): use an admin credential or an admin token on the bridge", ErrForbidden, subject)
	case errors.Is(err, bus.ErrUnknownMemory):
		return bus.Match{}, nil, fmt.Errorf("confirm: %w: no memory has id %q (see amf memory ls or search)", bus.ErrUnknownMemory, id)
	case errors.Is(err, ErrNoSearchService):
		return bus.Match{}, nil, fmt.Errorf("confirm memory %s: %w: %v (workers answer confirmations: is one running? start one with amf up or amf worker)", id, ErrUnavailable, err)
	case errors.Is(err, ErrMismatchedAnswer):
		return bus.Match{}, mismatched, fmt.Errorf("%w: %w; nothing was confirmed", ErrUnavailable, err)
	case err != nil:
		return bus.Match{}, nil, fmt.Errorf("confirm memory %s: %w: %v", id, ErrUnavailable, err)
	}
	return m, mismatched, nil
}

// ConfirmShown confirms m, a memory as MemoryToConfirm returned it, for
// blind reuse in the name of by, and returns it as confirmed. The
// confirmation names m's id only; m's content must be the id's
// (bus.Match.Genuine), so that what a user was shown is what every
// worker may now replay.
func (c *Client) ConfirmShown(ctx context.Context, m bus.Match, by string) (bus.Match, error) {
	if !m.Genuine() {
		return bus.Match{}, fmt.Errorf("confirm memory %s: its command %q is not that memory's; nothing was confirmed", m.ID, m.Command)
	}
	if len(by) > maxConfirmBy {
		by = by[:maxConfirmBy]
	}
	err := c.publishConfirmed(ctx, bus.MemoryConfirmed{ID: m.ID, By: by, TS: time.Now().UTC()})
	switch {
	case errors.Is(err, nats.ErrPermissionViolation):
		return bus.Match{}, fmt.Errorf("%w: this credential may not confirm memories (%s): use an admin credential or an admin token on the bridge", ErrForbidden, c.Names.MemoryConfirmed())
	case err != nil:
		return bus.Match{}, fmt.Errorf("confirm memory %s: %w", m.ID, err)
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
