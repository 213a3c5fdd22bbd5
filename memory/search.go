package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
// knowledge.Serve) over every owner's memories, on
// amf.api.memory.search (admins, the bridge and read-all credentials),
// and waits for its answer until ctx ends.
func Search(ctx context.Context, nc *nats.Conn, names bus.Names, req SearchRequest) (SearchReply, error) {
	return SearchOn(ctx, nc, names, names.MemorySearch(), req)
}

// SearchOn is Search asked on subject: names.MemorySearchAs(owner) sees
// that owner's memories and the shared ones (a client credential may ask
// only under its own owner, client.Client.MemorySearchSubject).
func SearchOn(ctx context.Context, nc *nats.Conn, names bus.Names, subject string, req SearchRequest) (SearchReply, error) {
	var rep SearchReply
	if err := ask(ctx, nc, names, subject, req, &rep); err != nil {
		return SearchReply{}, fmt.Errorf("search: %w", err)
	}
	return rep, nil
}

// ListOn asks a worker's index for the newest limit memories (0: the
// default) that the asker sees: names.MemoryListAs(owner) that owner's
// and the shared ones, names.MemoryList() every owner's.
func ListOn(ctx context.Context, nc *nats.Conn, names bus.Names, subject string, limit int) (bus.MemoryListReply, error) {
	var rep bus.MemoryListReply
	if err := ask(ctx, nc, names, subject, bus.MemoryListRequest{Limit: limit}, &rep); err != nil {
		return bus.MemoryListReply{}, fmt.Errorf("list memories: %w", err)
	}
	return rep, nil
}

// ask sends req to the memory service on subject and decodes its answer
// into rep.
func ask(ctx context.Context, nc *nats.Conn, names bus.Names, subject string, req, rep any) error {
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	msg, err := nc.RequestWithContext(ctx, subject, data)
	if errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("%w on %s (service %s): start one with amf up or amf worker",
			ErrNoSearchService, subject, names.MemoryServiceName())
	}
	if err != nil {
		// nats-server answers a refused request with nothing: the
		// refusal is recorded on the connection.
		if last := nc.LastError(); errors.Is(last, nats.ErrPermissionViolation) && strings.Contains(last.Error(), `"`+subject+`"`) {
			err = last
		}
	}
	if errors.Is(err, nats.ErrPermissionViolation) {
		return fmt.Errorf("this credential may not ask on %s (a client credential asks about its own memories, on %s): %w",
			subject, names.As("<its owner>", "memory.…"), err)
	}
	if err != nil {
		return err
	}
	switch code := msg.Header.Get(micro.ErrorCodeHeader); code {
	case "":
	case "400":
		return fmt.Errorf("%w: %s", ErrBadRequest, msg.Header.Get(micro.ErrorHeader))
	default:
		return fmt.Errorf("%s (%s)", msg.Header.Get(micro.ErrorHeader), code)
	}
	if err := json.Unmarshal(msg.Data, rep); err != nil {
		return fmt.Errorf("bad reply: %w", err)
	}
	return nil
}
