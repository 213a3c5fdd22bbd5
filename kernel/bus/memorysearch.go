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
	// Mismatched is set by the asker (client.SearchMemoryOn), never read from
	// an answer: the answers that held matches whose content is not their
	// id's, left out of Matches.
	Mismatched []MismatchedAnswer `json:"-"`
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
	// Mismatched is SearchReply.Mismatched for a listing (client.ListMemoryOn).
	Mismatched []MismatchedAnswer `json:"-"`
}

// Genuine reports whether m's content is its id's: the id is a digest of
// the memory's owner, instruction and command (MemoryIDOf), so a match
// that shows another command under a real id is not that memory. Any
// worker credential, of any pool, may answer the memory service's
// subjects, so an asker checks every match it is answered with before
// showing it or confirming it. Counts, scores and marks are not in the
// digest: they stay the answering worker's word.
func (m Match) Genuine() bool { return m.ID == MemoryIDOf(m.Owner, m.Instruction, m.Command) }

// GenuineMatches keeps the matches of one answer whose content is their
// id's (Genuine) and says how many others it left out. everyOwner says
// the asker is shown every memory's owner (it asked on the unowned
// subject, amf.api.memory.search or .list). An owner's own subject
// answers a shared memory another owner taught without its owner (whose
// it was is not the asker's to know), so there its id, which digests that
// owner, cannot be checked, and it is kept as answered.
func GenuineMatches(ms []Match, everyOwner bool) (kept []Match, mismatched int) {
	kept = make([]Match, 0, len(ms))
	for _, m := range ms {
		switch {
		case m.Genuine():
		case !everyOwner && m.Owner == "" && m.ConfirmedBy != "":
		default:
			mismatched++
			continue
		}
		kept = append(kept, m)
	}
	return kept, mismatched
}

// MismatchedAnswer is an answer of the memory service that held Memories
// matches whose content is not their id's (Genuine): a worker credential
// answered falsely, and the asker showed none of them. Worker is the name
// the answer gives itself, if it gives one.
type MismatchedAnswer struct {
	Worker   string `json:"worker,omitempty"`
	Memories int    `json:"memories"`
}
