package knowledge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// Bounds of a served search.
const (
	// maxSearchBytes bounds a search request: the query and its filters.
	maxSearchBytes = MaxQueryBytes + 4<<10
	// maxListBytes bounds a listing request: {"limit":N}.
	maxListBytes = 1 << 10
	// searchSyncWait bounds how long a search waits for the index to
	// apply what the stream holds, so that a memory learned or forgotten
	// just before is seen; after it, the search answers from what it has.
	searchSyncWait = 2 * time.Second
)

// Serve answers the fleet's memory search from idx: a NATS micro service
// (names.MemoryServiceName(), "amf-memory") with the endpoint
// names.MemorySearch() ("amf.api.memory.search"), taking a
// memory.SearchRequest and answering a memory.SearchReply, the endpoint
// names.MemoryList() ("amf.api.memory.list", bus.MemoryListRequest →
// bus.MemoryListReply), each also per owner (asker), and the
// endpoint names.MemoryConfirm() ("amf.api.memory.confirm"), taking a
// bus.ConfirmMemory and answering the memory.Match about to be confirmed
// (confirm.go; the asker publishes the confirmation). Every worker
// serves it under the one name, so NATS hands each request to one of
// them, and `amf memory search` answers without replaying the stream.
//
// Serve returns at once. The service is added once idx has caught up
// with the stream, so no worker answers from a partial index; stop
// removes it (or gives up waiting) and returns when it is gone.
func Serve(ctx context.Context, nc *nats.Conn, names bus.Names, idx *Knowledge) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ctx.Done():
			return
		case <-idx.CaughtUp():
		}
		svc, err := addSearchService(ctx, nc, names, idx)
		if err != nil {
			idx.log.Warn("memory: cannot serve searches", "err", err)
			return
		}
		<-ctx.Done()
		if err := svc.Stop(); err != nil {
			idx.log.Warn("memory: stopping the search service", "err", err)
		}
	})
	return func() { cancel(); wg.Wait() }
}

func addSearchService(ctx context.Context, nc *nats.Conn, names bus.Names, idx *Knowledge) (micro.Service, error) {
	svc, err := micro.AddService(nc, micro.Config{
		Name:        names.MemoryServiceName(),
		Version:     "1.0.0",
		Description: "AMF-OS memory: search what the fleet learned, check a memory before it is confirmed",
	})
	if err != nil {
		return nil, fmt.Errorf("add service %s: %w", names.MemoryServiceName(), err)
	}
	id := svc.Info().ID
	handler := func(r micro.Request) {
		if !bus.InboxReply(r.Reply()) {
			return // answered only into an inbox (bus.InboxReply)
		}
		a, ok := asker(names, r.Subject(), names.MemorySearch(), names.MemorySearchAs)
		if !ok {
			_ = r.Error("400", "ask on "+names.MemorySearchAs("<owner>")+" or "+names.MemorySearch(), nil)
			return
		}
		reply, code, err := search(ctx, idx, a, r.Data())
		if err != nil {
			_ = r.Error(code, err.Error(), nil)
			return
		}
		reply.Worker = id
		_ = r.RespondJSON(reply)
	}
	listHandler := func(r micro.Request) {
		if !bus.InboxReply(r.Reply()) {
			return
		}
		a, ok := asker(names, r.Subject(), names.MemoryList(), names.MemoryListAs)
		if !ok {
			_ = r.Error("400", "ask on "+names.MemoryListAs("<owner>")+" or "+names.MemoryList(), nil)
			return
		}
		reply, code, err := list(ctx, idx, a, r.Data())
		if err != nil {
			_ = r.Error(code, err.Error(), nil)
			return
		}
		reply.Worker = id
		_ = r.RespondJSON(reply)
	}
	// Twice each, as the task API is served: every owner's memories on
	// the unowned subject, one owner's on its own (asker).
	for _, ep := range []struct {
		name, subject string
		h             micro.HandlerFunc
	}{
		{"search", names.MemorySearch(), handler}, {"search-as", names.MemorySearchAny(), handler},
		{"list", names.MemoryList(), listHandler}, {"list-as", names.MemoryListAny(), listHandler},
	} {
		if err := svc.AddEndpoint(ep.name, ep.h, micro.WithEndpointSubject(ep.subject)); err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("add endpoint %s: %w", ep.subject, err)
		}
	}
	confirmHandler := func(r micro.Request) {
		if !bus.InboxReply(r.Reply()) {
			return
		}
		m, code, err := confirm(ctx, idx, r.Data())
		if err != nil {
			_ = r.Error(code, err.Error(), nil)
			return
		}
		_ = r.RespondJSON(m)
	}
	if err := svc.AddEndpoint("confirm", micro.HandlerFunc(confirmHandler), micro.WithEndpointSubject(names.MemoryConfirm())); err != nil {
		_ = svc.Stop()
		return nil, fmt.Errorf("add endpoint %s: %w", names.MemoryConfirm(), err)
	}
	return svc, nil
}

// asker is who a request on subject asks for. On an owner's subject
// (owned(o): amf.api.as.<owner>.memory.search or .list), that owner:
// nats-server lets a client credential publish there only under its own
// owner, and the bridge under the owner of the token it checked, so the
// subject says whose memories the request sees and no body can name
// another. On the unowned one (amf.api.memory.search or .list), every
// owner's: only admins, the bridge and read-all credentials may publish
// there.
func asker(names bus.Names, subject, unowned string, owned func(bus.Owner) string) (bus.Access, bool) {
	if subject == unowned {
		return bus.Access{SeeAll: true}, true
	}
	o, _, ok := names.OwnerOfSubject(subject)
	if !ok || owned(o) != subject {
		return bus.Access{}, false
	}
	return bus.Access{Owner: o}, true
}

// list answers one listing by a; the code is the micro error code.
func list(ctx context.Context, idx *Knowledge, a bus.Access, data []byte) (bus.MemoryListReply, string, error) {
	var req bus.MemoryListRequest
	if len(data) > maxListBytes {
		return bus.MemoryListReply{}, "400", fmt.Errorf("list request is %d bytes, the limit is %d", len(data), maxListBytes)
	}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return bus.MemoryListReply{}, "400", fmt.Errorf(`list request is not {"limit":N}: %w`, err)
		}
	}
	if req.Limit < 0 || req.Limit > bus.MaxMemoryList {
		return bus.MemoryListReply{}, "400", fmt.Errorf("limit %d: ask for 1 to %d memories (0 or none: %d)", req.Limit, bus.MaxMemoryList, bus.DefaultMemoryList)
	}
	sctx, cancel := context.WithTimeout(ctx, searchSyncWait)
	err := idx.Sync(sctx)
	cancel()
	if err != nil && ctx.Err() == nil {
		idx.log.Warn("memory: listing an index that is behind the stream", "err", err)
	}
	ms, total := idx.List(a, req.Limit)
	return bus.MemoryListReply{Memories: ms, Total: total}, "", nil
}

// search answers one request by a; the code is the micro error code.
func search(ctx context.Context, idx *Knowledge, a bus.Access, data []byte) (memory.SearchReply, string, error) {
	var req memory.SearchRequest
	if len(data) > maxSearchBytes {
		return memory.SearchReply{}, "400", fmt.Errorf("search request is %d bytes, the limit is %d", len(data), maxSearchBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return memory.SearchReply{}, "400", fmt.Errorf("search request is not a JSON memory.SearchRequest: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, searchSyncWait)
	err := idx.Sync(sctx)
	cancel()
	if err != nil && ctx.Err() == nil {
		idx.log.Warn("memory: searching an index that is behind the stream", "err", err)
	}
	ms, err := idx.Search(ctx, a, req)
	switch {
	case errors.Is(err, ErrBadQuery):
		return memory.SearchReply{}, "400", err
	case err != nil:
		return memory.SearchReply{}, "500", err
	}
	if ms == nil {
		ms = []memory.Match{}
	}
	c := idx.Calibration()
	reply := memory.SearchReply{Matches: ms, Memories: idx.Count(a), Embedder: c.Embedder, ReuseScore: c.Threshold}
	if a.SeeAll || a.ActAll {
		// The stream position moves with every owner's learning: only
		// those who see every owner's memories are told it.
		reply.Applied = idx.Applied()
	}
	return reply, "", nil
}
