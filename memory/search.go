package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/amf-os/amf/kernel/bus"
)

// SearchRequest asks the fleet's memory for similar memories; see
// bus.SearchRequest.
type SearchRequest = bus.SearchRequest

// SearchReply is the answer to a SearchRequest; see bus.SearchReply.
type SearchReply = bus.SearchReply

// ErrNoSearchService means no worker answers memory searches.
var ErrNoSearchService = errors.New("no worker serves memory search")

// Search asks the fleet's memory (a worker's index, see
// knowledge.Serve) and waits for its answer until ctx ends.
func Search(ctx context.Context, nc *nats.Conn, names bus.Names, req SearchRequest) (SearchReply, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return SearchReply{}, fmt.Errorf("search: %w", err)
	}
	msg, err := nc.RequestWithContext(ctx, names.MemorySearch(), data)
	if errors.Is(err, nats.ErrNoResponders) {
		return SearchReply{}, fmt.Errorf("search: %w on %s (service %s): start one with amf up or amf worker",
			ErrNoSearchService, names.MemorySearch(), names.MemoryServiceName())
	}
	if err != nil {
		return SearchReply{}, fmt.Errorf("search: %w", err)
	}
	if code := msg.Header.Get(micro.ErrorCodeHeader); code != "" {
		return SearchReply{}, fmt.Errorf("search: %s (%s)", msg.Header.Get(micro.ErrorHeader), code)
	}
	var rep SearchReply
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return SearchReply{}, fmt.Errorf("search: bad reply: %w", err)
	}
	return rep, nil
}
