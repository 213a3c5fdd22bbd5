package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// lastEventFromLeader asks the events stream's leader for a task's newest
// event. Direct gets are answered by any replica, and a replica may not
// have stored yet what the leader just acknowledged: a task submitted a
// moment ago would read as unknown. A miss is therefore confirmed here,
// where only the leader answers. It wraps bus.ErrNoEvents when the task
// has none.
func (c *Client) lastEventFromLeader(ctx context.Context, id string) (bus.Event, error) {
	req, _ := json.Marshal(map[string]string{"last_by_subj": c.Names.TaskEvents(id)})
	msg, err := c.NC.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+c.Names.EventsStream(), req)
	if err != nil {
		return bus.Event{}, fmt.Errorf("look up task %s: %w", id, err)
	}
	var reply struct {
		Message *struct {
			Seq  uint64 `json:"seq"`
			Data []byte `json:"data"`
		} `json:"message"`
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		return bus.Event{}, fmt.Errorf("look up task %s: %w", id, err)
	}
	switch {
	case reply.Error != nil && reply.Error.Code == http.StatusNotFound:
		return bus.Event{}, fmt.Errorf("%w: %s", bus.ErrNoEvents, id)
	case reply.Error != nil:
		return bus.Event{}, fmt.Errorf("look up task %s: %w", id, reply.Error)
	case reply.Message == nil:
		return bus.Event{}, fmt.Errorf("look up task %s: empty answer", id)
	}
	e, err := bus.DecodeEvent(reply.Message.Data)
	if err != nil {
		e = bus.Event{TaskID: id}
	}
	e.Seq = reply.Message.Seq
	return e, nil
}
