package api

import (
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
