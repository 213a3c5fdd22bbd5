package knowledge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	chromem "github.com/philippgille/chromem-go"

	"github.com/amf-os/amf/internal/atomicfile"
)

// The index on disk is one file: a JSON header line saying what the
// index reflects, then chromem-go's own export of the collection
// (DB.ExportToWriter). Writing both in one file, replaced atomically,
// keeps the stream position and the documents in agreement: replaying a
// message twice would count its success twice.
const (
	indexFile   = "index.chromem"
	indexFormat = "amf-memory-index"
	// indexVersion changes when the layout does; an old file is then
	// ignored and the index rebuilt from the stream.
	// 3: the credentials whose successes count (metaLearners).
	// 4: memories per owner (ids of bus.MemoryIDOf, metaOwner,
	// metaShared).
	// 5: whether vouching began (indexHeader.Vouching): an index saved
	// before knew nothing of the marker, which it may have passed.
	// 6: the tombstones (indexHeader.Forgotten).
	indexVersion = 6
	// oldIndexFile is the layout before chromem-go saved the index;
	// it is removed when found.
	oldIndexFile = "index.gob"
)

// indexHeader is the first line of the index file.
type indexHeader struct {
	Format   string `json:"format"`
	Version  int    `json:"version"`
	Embedder string `json:"embedder"`
	Dim      int    `json:"dim"`
	// StreamCreated tells a stream that was deleted and made anew (whose
	// sequences mean something else) from the one the index was built on.
	StreamCreated time.Time `json:"stream_created"`
	Applied       uint64    `json:"applied"`
	Memories      int       `json:"memories"`
	// Vouching is set once the index applied the vouching marker: from
	// then on it learns a credential's records only from their vouched
	// copies (vouch.go).
	Vouching bool `json:"vouching,omitempty"`
	// Forgotten is each forgotten memory's tombstone sequence
	// (Knowledge.forgotten).
	Forgotten map[string]uint64 `json:"forgotten,omitempty"`
	// Calibration is the embedder's reuse threshold; an index saved
	// before calibration existed has none and is calibrated at open.
	Calibration *Calibration `json:"calibration,omitempty"`
}

// load imports the saved index when it matches the embedder and the
// stream, and builds the flat index over its documents; otherwise the
// index starts empty and is rebuilt from the stream.
func (k *Knowledge) load(ctx context.Context, info *jetstream.StreamInfo) error {
	if err := k.reset(); err != nil {
		return err
	}
	if k.path == "" {
		return nil
	}
	_ = os.Remove(filepath.Join(filepath.Dir(k.path), oldIndexFile))
	data, err := os.ReadFile(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open memory index: %w", err)
	}
	line, body, _ := bytes.Cut(data, []byte("\n"))
	var h indexHeader
	if err := json.Unmarshal(line, &h); err != nil || h.Format != indexFormat {
		k.log.Warn("memory: index file unreadable; rebuilding from the stream", "path", k.path, "err", err)
		return nil
	}
	switch {
	case h.Version != indexVersion:
		k.log.Info("memory: index format changed; rebuilding from the stream", "was", h.Version)
		return nil
	case h.Embedder != k.cfg.Embedder.Name() || h.Dim != k.dim:
		k.log.Info("memory: embedder changed; rebuilding from the stream",
			"was", h.Embedder, "was_dim", h.Dim, "now", k.cfg.Embedder.Name(), "now_dim", k.dim)
		return nil
	case info != nil && (!h.StreamCreated.Equal(info.Created) || h.Applied > info.State.LastSeq):
		k.log.Info("memory: stream was recreated; rebuilding from it")
		return nil
	}
	if err := k.importIndex(ctx, body, h); err != nil {
		k.log.Warn("memory: index file damaged; rebuilding from the stream", "path", k.path, "err", err)
		return k.reset()
	}
	k.applied = h.Applied
	k.vouching, k.forgotten = h.Vouching, h.Forgotten
	k.streamCreated = h.StreamCreated
	if h.Calibration != nil {
		k.calib = *h.Calibration
	}
	k.log.Info("memory: index loaded", "memories", h.Memories, "seq", h.Applied)
	return nil
}

// reset makes the index empty.
func (k *Knowledge) reset() error {
	k.db = chromem.NewDB()
	coll, err := k.newCollection(k.db)
	if err != nil {
		return err
	}
	k.coll, k.flat = coll, newFlatIndex()
	k.vouching, k.awaiting, k.forgotten = false, nil, nil
	return nil
}

// importIndex reads chromem-go's export into a fresh DB and checks every
// document before the flat index is built over their vectors.
func (k *Knowledge) importIndex(ctx context.Context, body []byte, h indexHeader) error {
	db := chromem.NewDB()
	if err := db.ImportFromReader(bytes.NewReader(body), "", collectionName); err != nil {
		return err
	}
	coll := db.GetCollection(collectionName, noEmbed)
	if coll == nil {
		return errors.New("no memories collection")
	}
	if coll.Count() != h.Memories {
		return fmt.Errorf("%d memories, the header says %d", coll.Count(), h.Memories)
	}
	k.db, k.coll = db, coll
	all, err := k.allLocked(ctx)
	if err != nil {
		return err
	}
	for _, r := range all {
		if len(r.Embedding) != k.dim {
			return fmt.Errorf("memory %s has %d dimensions, not %d", r.ID, len(r.Embedding), k.dim)
		}
		e, err := entryOf(r.ID, r.Metadata)
		if err != nil {
			return err
		}
		k.flat.add(r.ID, r.Embedding, e.Rec.Owner, e.shared())
	}
	return nil
}

// save writes the index atomically (temporary file, fsync, rename).
// chromem-go exports its documents without a lock, so the stream's next
// batch waits for the export (k.saving); recall, which only reads, goes
// on meanwhile, since no writer is left waiting on k.mu.
func (k *Knowledge) save() error {
	if k.path == "" {
		return nil
	}
	k.saving.Lock()
	defer k.saving.Unlock()
	if !k.dirty.Load() {
		return nil
	}
	h := indexHeader{
		Format: indexFormat, Version: indexVersion, Embedder: k.cfg.Embedder.Name(), Dim: k.dim,
		StreamCreated: k.streamCreated, Applied: k.applied, Memories: k.coll.Count(),
		Calibration: &k.calib, Vouching: k.vouching, Forgotten: k.forgotten,
	}
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return fmt.Errorf("save memory index: %w", err)
	}
	err := atomicfile.Write(k.path, 0o600, func(f io.Writer) error {
		w := bufio.NewWriterSize(f, 1<<20)
		if err := json.NewEncoder(w).Encode(h); err != nil {
			return err
		}
		if err := k.db.ExportToWriter(w, false, "", collectionName); err != nil {
			return err
		}
		return w.Flush()
	})
	if err != nil {
		return fmt.Errorf("save memory index: %w", err)
	}
	k.dirty.Store(false)
	return nil
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
