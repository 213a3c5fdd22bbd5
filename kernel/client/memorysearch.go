package client

import "context"

// MemorySearchSubject is where whoever ctx acts for asks the fleet's
// memory (a worker's index answers, memory.SearchOn): the unowned
// amf.api.memory.search, over every owner's memories, for admins and
// read-all; an owner's own amf.api.as.<owner>.memory.search otherwise,
// which sees its memories and the shared ones. nats-server lets a client
// credential ask only on its own.
func (c *Client) MemorySearchSubject(ctx context.Context) string {
	a := c.access(ctx)
	if a.SeeAll || a.ActAll || a.Owner == "" {
		return c.Names.MemorySearch()
	}
	return c.Names.MemorySearchAs(a.Owner)
}
