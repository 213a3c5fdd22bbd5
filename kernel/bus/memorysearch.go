package bus

import (
	"errors"
	"time"
)

// Match is one recalled memory: what memory/knowledge recalls
// and what the fleet's memory search answers.
type Match struct {
	ID          string    `json:"id"`
	Score       float64   `json:"score"`
	Instruction string    `json:"instruction"`
	Command     string    `json:"command"`
	Description string    `json:"description,omitempty"`
	Host        HostFacts `json:"host,omitzero"`
	// Owner is whose tasks taught it (Learned.Owner); empty for the
	// installation's.
	Owner     Owner `json:"owner,omitempty"`
	Successes int   `json:"successes"`
	// Learners is how many worker credentials reported a success that
	// counts towards blind reuse (not one of a no_answer or session task).
	Learners   int     `json:"learners"`
	Failures   int     `json:"failures"`
	Confidence float64 `json:"confidence"`
	// ConfirmedBy names the user who confirmed the memory for blind
	// reuse (amf memory confirm, POST /v1/memories/{id}/confirm).
	ConfirmedBy string    `json:"confirmed_by,omitempty"`
	Learned     time.Time `json:"learned"`
	// Reuse says the command may run without asking the model: the score
	// is above the embedder's calibrated threshold, the instructions agree
	// on what they name, the command succeeded for it on at least two
	// different worker credentials (or a user confirmed it), the host fits
	// and confidence holds. It is still validated and sandboxed.
	Reuse bool `json:"reuse"`
	// NoReuse says why Reuse is false, for logs and the memory_hit event.
	NoReuse string `json:"no_reuse,omitempty"`
}

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
	// Memories is how many memories of the answering index the asker
	// sees (every owner's for admins and read-all), and Applied the last
	// AMF_MEMORY sequence it reflects, told only to those who see every
	// owner's memories (it moves with every owner's learning).
	Memories int    `json:"memories"`
	Applied  uint64 `json:"applied,omitempty"`
	// Worker names the index that answered.
	Worker string `json:"worker,omitempty"`
	// Embedder names the index's embedder, and ReuseScore the similarity
	// calibrated for it that blind reuse needs.
	Embedder   string  `json:"embedder,omitempty"`
	ReuseScore float64 `json:"reuse_score,omitempty"`
}

// ErrUnknownMemory is returned for an id no memory has.
var ErrUnknownMemory = errors.New("memory: unknown memory")

// MemoryListRequest asks the fleet's memory for the memories the asker
// may recall (subject bus.Names.MemoryList or MemoryListAs).
type MemoryListRequest struct {
	// Limit is how many of the newest memories to return (default
	// DefaultMemoryList, at most MaxMemoryList).
	Limit int `json:"limit,omitempty"`
}

// Bounds of a memory listing.
const (
	DefaultMemoryList = 1000
	MaxMemoryList     = 10000
)

// MemoryListReply is the answer to a MemoryListRequest: the newest
// memories the asker sees, oldest first, and how many it sees in all.
type MemoryListReply struct {
	Memories []Match `json:"memories"`
	Total    int     `json:"total"`
	// Worker names the index that answered.
	Worker string `json:"worker,omitempty"`
}
