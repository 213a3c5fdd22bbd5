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
	// searchSyncWait bounds how long a search waits for the index to
	// apply what the stream holds, so that a memory learned or forgotten
	// just before is seen; after it, the search answers from what it has.
	searchSyncWait = 2 * time.Second
)

// Serve answers the fleet's memory search from idx: a NATS micro service
// (names.MemoryServiceName(), "amf-memory") with the endpoint
// names.MemorySearch() ("amf.api.memory.search"), taking a
// memory.SearchRequest and answering a memory.SearchReply, and the
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
		a, ok := searcher(names, r.Subject())
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
	// Twice, as the task API is served: every owner's memories on the
	// unowned subject, one owner's on its own (searcher).
	for name, subject := range map[string]string{"search": names.MemorySearch(), "search-as": names.MemorySearchAny()} {
		if err := svc.AddEndpoint(name, micro.HandlerFunc(handler), micro.WithEndpointSubject(subject)); err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("add endpoint %s: %w", subject, err)
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

// searcher is who a search on subject asks for. On
// amf.api.as.<owner>.memory.search, that owner: nats-server lets a
// client credential publish there only under its own owner, and the
// bridge under the owner of the token it checked, so the subject says
// whose memories the search sees and no body can name another. On
// amf.api.memory.search, every owner's: only admins, the bridge and
// read-all credentials may publish there.
func searcher(names bus.Names, subject string) (bus.Access, bool) {
	if subject == names.MemorySearch() {
		return bus.Access{SeeAll: true}, true
	}
	o, op, ok := names.OwnerOfSubject(subject)
	if !ok || names.MemorySearchAs(o) != subject || op == "" {
		return bus.Access{}, false
	}
	return bus.Access{Owner: o}, true
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
	return memory.SearchReply{Matches: ms, Memories: idx.Len(), Applied: idx.Applied(), Embedder: c.Embedder, ReuseScore: c.Threshold}, "", nil
}
