package knowledge

import (
	"context"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	chromem "github.com/philippgille/chromem-go"

	"github.com/nats-io/nats.go/jetstream"
)

// snapshotVersion changes when the file layout does; an old file is then
// ignored and the index rebuilt from the stream.
const snapshotVersion = 1

// snapshot is the index on disk: the vectors, what they mean, and the
// stream position they reflect, written together so they always agree.
type snapshot struct {
	Version  int
	Embedder string
	Dim      int
	// StreamCreated tells a stream that was deleted and made anew (whose
	// sequences mean something else) from the one the index was built on.
	StreamCreated time.Time
	Applied       uint64
	Entries       []snapEntry
}

type snapEntry struct {
	Entry entry
	// Vec is the embedding as little-endian float32s: compact in gob.
	Vec []byte
}

// load reads the snapshot when it matches the embedder and the stream,
// and builds the collection from it; otherwise it starts empty.
func (k *Knowledge) load(ctx context.Context, info *jetstream.StreamInfo) error {
	coll, err := k.newCollection()
	if err != nil {
		return err
	}
	k.coll, k.flat = coll, newFlatIndex()
	if k.path == "" {
		return nil
	}
	f, err := os.Open(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open memory index: %w", err)
	}
	defer f.Close()
	var s snapshot
	if err := gob.NewDecoder(f).Decode(&s); err != nil {
		k.log.Warn("memory: index file unreadable; rebuilding from the stream", "path", k.path, "err", err)
		return nil
	}
	switch {
	case s.Version != snapshotVersion:
		k.log.Info("memory: index format changed; rebuilding from the stream", "was", s.Version)
		return nil
	case s.Embedder != k.cfg.Embedder.Name() || s.Dim != k.dim:
		k.log.Info("memory: embedder changed; rebuilding from the stream",
			"was", s.Embedder, "was_dim", s.Dim, "now", k.cfg.Embedder.Name(), "now_dim", k.dim)
		return nil
	case info != nil && (!s.StreamCreated.Equal(info.Created) || s.Applied > info.State.LastSeq):
		k.log.Info("memory: stream was recreated; rebuilding from it")
		return nil
	}
	docs := make([]chromem.Document, 0, len(s.Entries))
	for _, se := range s.Entries {
		if len(se.Vec) != 4*s.Dim {
			k.log.Warn("memory: index file damaged; rebuilding from the stream")
			return nil
		}
		doc := chromemDoc(se.Entry.Rec.ID, decodeVec(se.Vec))
		docs = append(docs, doc)
		k.flat.add(doc.ID, doc.Embedding)
		e := se.Entry
		k.entries[e.Rec.ID] = &e
	}
	if len(docs) > 0 {
		if err := coll.AddDocuments(ctx, docs, 2); err != nil {
			return fmt.Errorf("load memory index: %w", err)
		}
	}
	k.applied = s.Applied
	k.streamCreated = s.StreamCreated
	k.log.Info("memory: index loaded", "memories", len(docs), "seq", s.Applied)
	return nil
}

// save writes the snapshot atomically (temporary file, fsync, rename).
func (k *Knowledge) save() error {
	if k.path == "" {
		return nil
	}
	k.mu.Lock()
	if !k.dirty {
		k.mu.Unlock()
		return nil
	}
	s := snapshot{Version: snapshotVersion, Embedder: k.cfg.Embedder.Name(), Dim: k.dim, Applied: k.applied, StreamCreated: k.streamCreated}
	// Vectors never change once indexed, so the lock is held only to
	// copy references; encoding happens outside it and recall goes on.
	es := make([]entry, 0, len(k.entries))
	vs := make([][]float32, 0, len(k.entries))
	for id, e := range k.entries {
		i, ok := k.flat.pos[id]
		if !ok {
			k.mu.Unlock()
			return fmt.Errorf("save memory index: %s has no vector", id)
		}
		es = append(es, *e)
		vs = append(vs, k.flat.vecs[i])
	}
	k.dirty = false
	k.mu.Unlock()

	s.Entries = make([]snapEntry, len(es))
	for i := range es {
		s.Entries[i] = snapEntry{Entry: es[i], Vec: encodeVec(vs[i])}
	}
	if err := writeAtomic(k.path, func(f *os.File) error { return gob.NewEncoder(f).Encode(&s) }); err != nil {
		k.mu.Lock()
		k.dirty = true
		k.mu.Unlock()
		return fmt.Errorf("save memory index: %w", err)
	}
	return nil
}

func writeAtomic(path string, write func(*os.File) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".index-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// snapshotLoop saves a changed index once catch-up ends and then now and
// then. The pause grows with the index (SnapshotEvery per 10,000
// memories) because each save rewrites the whole file, while replaying
// what a crash lost from the stream costs little.
func (k *Knowledge) snapshotLoop(ctx context.Context) {
	t := time.NewTimer(k.cfg.SnapshotEvery)
	defer t.Stop()
	caughtUp := k.caughtUp
	for {
		select {
		case <-ctx.Done():
			return
		case <-caughtUp:
			caughtUp = nil
		case <-t.C:
		}
		if err := k.save(); err != nil {
			k.log.Warn("memory: saving the index failed", "err", err)
		}
		t.Reset(snapshotPause(k.cfg.SnapshotEvery, k.Len()))
	}
}

func snapshotPause(every time.Duration, n int) time.Duration {
	return every * time.Duration(1+n/10000)
}

// chromemDoc makes the document of a memory; its vector is normalised
// here so chromem-go keeps this very slice, which the flat index shares.
func chromemDoc(id string, vec []float32) chromem.Document {
	return chromem.Document{ID: id, Embedding: normalize(vec)}
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

func encodeVec(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVec(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
