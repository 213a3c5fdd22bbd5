package api

import (
	"context"
	"fmt"
	"strings"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// submitterReader is whom the stream a submission asks for
// (bus.HeaderDeliver) is read for, the submitter itself, and checks
// where it delivers: a credential's only into its own inbox, which
// nobody else may subscribe to; the bridge's and an admin's into an
// inbox, never onto a subject the system reads. operator is the bridge's
// word that the token it submits for is an admin's (uncapped streams),
// heard only on the token subjects no other role may publish on.
func submitterReader(a bus.Access, deliver string, operator bool) (client.Reader, error) {
	if err := client.CheckDeliver(deliver); err != nil {
		return client.Reader{}, err
	}
	if !bus.InboxReply(deliver) {
		return client.Reader{}, fmt.Errorf("%w: deliver subject %q is not an inbox: give a subject of your own inbox (nats.Conn.NewInbox)", bus.ErrInvalidTask, deliver)
	}
	if a.Owner == "" {
		return client.Reader{All: true}, nil
	}
	if id, ok := a.Owner.Credential(); ok {
		if prefix := bus.InboxPrefix(id); !strings.HasPrefix(deliver, prefix+".") {
			return client.Reader{}, fmt.Errorf("%w: deliver subject %q is not under your inbox prefix %s", client.ErrForbidden, deliver, prefix)
		}
		return client.Reader{Owner: a.Owner}, nil
	}
	return client.Reader{Owner: a.Owner, All: operator, Operator: operator}, nil
}

// submitterStream is the consumer that delivers a submitted task's events
// to deliver, for its submitter: the one made before the task was
// recorded when it delivers from the task's first event, or one made now.
// When none can be (too many streams open), the answer names no consumer
// and the submitter asks readers.open, which says why.
func (s *Service) submitterStream(ctx context.Context, reader client.Reader, deliver string, ahead client.ReaderAhead, t bus.Task, dup bool, at client.Placed) string {
	if !dup && s.Client.ResumeReaderAhead(ctx, ahead, at.Accepted) {
		return ahead.Name
	}
	// The one made ahead has the name the request gives a reader: it
	// goes first.
	s.Client.DropReaderAhead(ctx, ahead)
	req := bus.ReaderRequest{Task: t.ID, Deliver: deliver}
	if dup {
		// Recorded before, maybe by another owner: read as any reader's.
		made, err := s.Client.MakeReader(ctx, reader, req, s.readersLimit())
		if err != nil {
			return ""
		}
		return made.Consumer
	}
	name, err := s.Client.MakeReaderOf(ctx, reader, req, t, at.Accepted, s.readersLimit())
	if err != nil {
		return ""
	}
	return name
}

// readersAheadFrom is ReadersAheadFrom with its default.
func (s *Service) readersAheadFrom() int {
	if s.ReadersAheadFrom == 0 {
		return client.DefaultReadersAheadFrom
	}
	return s.ReadersAheadFrom
}
