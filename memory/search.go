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

// SearchRequest asks the fleet's memory for the memories most similar to
// an instruction (subject bus.Names.MemorySearch, amf.api.memory.search).
type SearchRequest struct {
	// Query is the instruction to compare with what was learned.
	Query string `json:"query"`
	// K is how many matches to return at most (default 3, at most 100).
	K int `json:"k,omitempty"`
	// Pool and Distro, when set, keep only memories learned in that pool
	// or on that distribution (os-release ID).
	Pool   string `json:"pool,omitempty"`
	Distro string `json:"distro,omitempty"`
	// Host describes the asking host; it decides the reuse marks.
	Host HostFacts `json:"host,omitzero"`
}

// SearchReply is the answer to a SearchRequest.
type SearchReply struct {
	Matches []Match `json:"matches"`
	// Memories is how many memories the answering index holds, and
	// Applied the last AMF_MEMORY sequence it reflects.
	Memories int    `json:"memories"`
	Applied  uint64 `json:"applied"`
	// Worker names the index that answered.
	Worker string `json:"worker,omitempty"`
	// Embedder names the index's embedder, and ReuseScore the similarity
	// calibrated for it that blind reuse needs.
	Embedder   string  `json:"embedder,omitempty"`
	ReuseScore float64 `json:"reuse_score,omitempty"`
}

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
