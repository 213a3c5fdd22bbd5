package memory

import (
	"context"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// SearchRequest asks the fleet's memory for similar memories; see
// bus.SearchRequest.
type SearchRequest = bus.SearchRequest

// SearchReply is the answer to a SearchRequest; see bus.SearchReply.
type SearchReply = bus.SearchReply

// ErrNoSearchService means no worker answers memory searches.
var ErrNoSearchService = client.ErrNoSearchService

// ErrMismatchedAnswer says every answer to a lookup (ToConfirm) showed
// another memory than the id asked for.
var ErrMismatchedAnswer = client.ErrMismatchedAnswer

// Search asks the fleet's memory over every owner's memories
// (client.SearchMemory).
func Search(ctx context.Context, nc *nats.Conn, names bus.Names, req SearchRequest) (SearchReply, error) {
	return client.SearchMemory(ctx, nc, names, req)
}

// SearchOn is Search asked on subject, every match checked against its
// id (client.SearchMemoryOn).
func SearchOn(ctx context.Context, nc *nats.Conn, names bus.Names, subject string, req SearchRequest) (SearchReply, error) {
	return client.SearchMemoryOn(ctx, nc, names, subject, req)
}

// ListOn asks for the newest limit memories the asker sees, each checked
// against its id (client.ListMemoryOn).
func ListOn(ctx context.Context, nc *nats.Conn, names bus.Names, subject string, limit int) (bus.MemoryListReply, error) {
	return client.ListMemoryOn(ctx, nc, names, subject, limit)
}

// ToConfirm asks for memory id as a confirmation of it would find it
// (client.MemoryAsShown).
func ToConfirm(ctx context.Context, nc *nats.Conn, names bus.Names, id string) (Match, []bus.MismatchedAnswer, error) {
	return client.MemoryAsShown(ctx, nc, names, id)
}
