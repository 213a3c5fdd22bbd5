package knowledge

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	chromem "github.com/philippgille/chromem-go"

	"github.com/amf-os/amf/kernel/bus"
)

// collectionName is the one chromem-go collection of the index.
const collectionName = "memories"

// Metadata keys of a memory's chromem-go document. Pool, OS and distro
// have keys of their own so that searches filter on them with chromem-go's
// where; the record is kept whole, as JSON, for everything else. The
// document's content is the instruction and its embedding the
// instruction's vector, normalised.
const (
	metaRecord    = "record"
	metaSuccesses = "successes"
	metaFailures  = "failures"
	metaSeq       = "seq"
	metaPool      = "pool"
	metaOS        = "os"
	metaDistro    = "distro"
	// metaConfirmed names who confirmed the memory; absent or empty
	// when nobody did.
	metaConfirmed = "confirmed"
	// metaLearners is the JSON list of credential ids whose successes
	// count towards blind reuse.
	metaLearners = "learners"
	// metaOwner is whose tasks taught the memory (bus.Owner), and
	// metaShared "1" when every owner may recall it (entry.shared): the
	// two filters of a filtered search that sees one owner's memories.
	metaOwner  = "owner"
	metaShared = "shared"
	// metaOwnerFailures is the JSON object of entry.OwnerFailures;
	// absent when no owner's failure counted in its view only.
	metaOwnerFailures = "owner_failures"
)

// entry is one memory as this worker knows it, decoded from its document.
type entry struct {
	Rec       bus.Learned
	Successes int
	Failures  int
	// Seq is the stream sequence that first taught it.
	Seq uint64
	// ConfirmedBy names the user who confirmed it through the API; empty
	// when nobody did.
	ConfirmedBy string
	// Learners are the credentials (bus.Names.LearnerOf, "" for the bare
	// subject) that reported a success counting towards blind reuse,
	// sorted: one credential counts once however often it reports.
	Learners []string
	// OwnerFailures counts, per owner, the failures that lower the
	// memory's confidence in that owner's view only (failures.go).
	OwnerFailures map[bus.Owner]int
}

// addLearner counts cred's success towards blind reuse.
func (e *entry) addLearner(cred string) {
	if i, found := slices.BinarySearch(e.Learners, cred); !found {
		e.Learners = slices.Insert(e.Learners, i, cred)
	}
}

// document is the chromem-go document of e; vec must be normalised, and
// chromem-go then keeps this very slice, which the flat index shares.
func (e *entry) document(vec []float32) (chromem.Document, error) {
	rec, err := json.Marshal(e.Rec)
	if err != nil {
		return chromem.Document{}, fmt.Errorf("encode memory %s: %w", e.Rec.ID, err)
	}
	learners, err := json.Marshal(e.Learners)
	if err != nil {
		return chromem.Document{}, fmt.Errorf("encode memory %s: %w", e.Rec.ID, err)
	}
	meta := map[string]string{
		metaRecord:    string(rec),
		metaSuccesses: strconv.Itoa(e.Successes),
		metaFailures:  strconv.Itoa(e.Failures),
		metaSeq:       strconv.FormatUint(e.Seq, 10),
		metaPool:      e.Rec.Pool,
		metaOS:        e.Rec.Host.OS,
		metaDistro:    e.Rec.Host.Distro,
		metaConfirmed: e.ConfirmedBy,
		metaLearners:  string(learners),
		metaOwner:     string(e.Rec.Owner),
		metaShared:    flag(e.shared()),
	}
	if len(e.OwnerFailures) > 0 {
		of, err := json.Marshal(e.OwnerFailures)
		if err != nil {
			return chromem.Document{}, fmt.Errorf("encode memory %s: %w", e.Rec.ID, err)
		}
		meta[metaOwnerFailures] = string(of)
	}
	return chromem.Document{
		ID:        e.Rec.ID,
		Content:   e.Rec.Instruction,
		Embedding: vec,
		Metadata:  meta,
	}, nil
}

// flag is a boolean as metadata: "1" or "".
func flag(b bool) string {
	if b {
		return "1"
	}
	return ""
}

// entryOf decodes a document's metadata.
func entryOf(id string, meta map[string]string) (entry, error) {
	var e entry
	if err := json.Unmarshal([]byte(meta[metaRecord]), &e.Rec); err != nil {
		return e, fmt.Errorf("memory %s: record: %w", id, err)
	}
	var err1, err2, err3 error
	e.Successes, err1 = strconv.Atoi(meta[metaSuccesses])
	e.Failures, err2 = strconv.Atoi(meta[metaFailures])
	e.Seq, err3 = strconv.ParseUint(meta[metaSeq], 10, 64)
	e.ConfirmedBy = meta[metaConfirmed]
	err4 := json.Unmarshal([]byte(meta[metaLearners]), &e.Learners)
	var err5 error
	if of := meta[metaOwnerFailures]; of != "" {
		err5 = json.Unmarshal([]byte(of), &e.OwnerFailures)
	}
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || e.Rec.ID != id || e.Successes < 1 ||
		!slices.IsSorted(e.Learners) {
		return e, fmt.Errorf("memory %s: damaged metadata %v", id, meta)
	}
	return e, nil
}

// newCollection makes an empty collection in db labelled with the
// embedder, so a dump of it says how its vectors were made.
func (k *Knowledge) newCollection(db *chromem.DB) (*chromem.Collection, error) {
	meta := map[string]string{"embedder": k.cfg.Embedder.Name(), "dim": strconv.Itoa(k.dim)}
	c, err := db.CreateCollection(collectionName, meta, noEmbed)
	if err != nil {
		return nil, fmt.Errorf("create collection: %w", err)
	}
	return c, nil
}

// noEmbed is the collection's embedding function: vectors are computed
// by the Embedder, in batches, before they reach chromem-go.
func noEmbed(context.Context, string) ([]float32, error) {
	return nil, fmt.Errorf("%w: vectors are computed before they reach the collection", ErrEmbed)
}

// getLocked reads one memory from the collection; k.mu is held.
func (k *Knowledge) getLocked(ctx context.Context, id string) (entry, error) {
	doc, err := k.coll.GetByID(ctx, id)
	if err != nil {
		return entry{}, fmt.Errorf("read memory %s: %w", id, err)
	}
	return entryOf(id, doc.Metadata)
}

// putLocked stores e with the vector the flat index already holds for
// it, so the two keep sharing one slice; k.mu is held for writing.
func (k *Knowledge) putLocked(ctx context.Context, e entry) error {
	vec, ok := k.flat.vector(e.Rec.ID)
	if !ok {
		return fmt.Errorf("update memory %s: not in the index", e.Rec.ID)
	}
	doc, err := e.document(vec)
	if err != nil {
		return err
	}
	if err := k.coll.AddDocument(ctx, doc); err != nil {
		return fmt.Errorf("update memory %s: %w", e.Rec.ID, err)
	}
	return nil
}

// allLocked returns every document of the collection, without copying
// vectors or metadata (chromem-go's GetByID copies both): one exhaustive
// query for all of them. k.mu is held.
func (k *Knowledge) allLocked(ctx context.Context) ([]chromem.Result, error) {
	n := k.coll.Count()
	if n == 0 {
		return nil, nil
	}
	q := make([]float32, k.dim)
	q[0] = 1
	res, err := k.coll.QueryEmbedding(ctx, q, n, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("list memories: %w", err)
	}
	return res, nil
}

// where is the chromem-go metadata filter of a search.
func where(pool, distro string) map[string]string {
	w := map[string]string{}
	if pool = strings.TrimSpace(pool); pool != "" {
		w[metaPool] = pool
	}
	if distro = strings.TrimSpace(distro); distro != "" {
		w[metaDistro] = distro
	}
	if len(w) == 0 {
		return nil
	}
	return w
}

// normalize scales v to unit length in place (a zero vector stays zero).
func normalize(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 || math.Abs(sum-1) < 1e-7 {
		return v
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
	return v
}
