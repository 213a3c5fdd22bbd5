package client

import (
	"context"

	"github.com/amf-os/amf/kernel/bus"
)

// MemorySearchSubject is where whoever ctx acts for asks the fleet's
// memory (a worker's index answers, SearchMemoryOn): the unowned
// amf.api.memory.search, over every owner's memories, for admins and
// read-all; an owner's own amf.api.as.<owner>.memory.search otherwise,
// which sees its memories and the shared ones. nats-server lets a client
// credential ask only on its own.
func (c *Client) MemorySearchSubject(ctx context.Context) string {
	return c.memorySubject(ctx, c.Names.MemorySearch(), c.Names.MemorySearchAs)
}

// MemoryListSubject is where whoever ctx acts for lists the memories it
// sees (ListMemoryOn), chosen as MemorySearchSubject is.
func (c *Client) MemoryListSubject(ctx context.Context) string {
	return c.memorySubject(ctx, c.Names.MemoryList(), c.Names.MemoryListAs)
}

func (c *Client) memorySubject(ctx context.Context, unowned string, owned func(bus.Owner) string) string {
	a := c.access(ctx)
	if a.SeeAll || a.ActAll || a.Owner == "" {
		return unowned
	}
	return owned(a.Owner)
}
