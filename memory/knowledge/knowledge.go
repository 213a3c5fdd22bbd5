package knowledge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	chromem "github.com/philippgille/chromem-go"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/memory"
)

// Defaults of Config.
const (
	DefaultK             = 3
	DefaultMinScore      = 0.25
	DefaultMinConfidence = 0.8
	// DefaultMinSuccesses is how many different worker credentials must
	// have seen a command work for its instruction before it is reused
	// blindly, unless a user confirmed it: one success may be luck (a
	// command that exits 0 and happens to print something plausible),
	// and one credential's word is only its own.
	DefaultMinSuccesses  = 2
	DefaultSnapshotEvery = 30 * time.Second
	// DefaultQuotaPerOwner is how many memories one owner may have.
	DefaultQuotaPerOwner = 10000
)

// QuotaPerOwnerSetting raises Config.QuotaPerOwner; refusals name it.
const QuotaPerOwnerSetting = "--quota-memories, AMF_QUOTA_MEMORIES"

// Config configures a worker's knowledge base.
type Config struct {
	// StateDir holds the saved index (StateDir/memory/index.chromem: the
	// chromem-go export and the stream position it reflects); empty
	// keeps the index in memory only, rebuilt from the stream at every
	// start.
	StateDir string
	// Names derives the stream and subjects.
	Names bus.Names
	// Followers makes the consumer the index follows the stream through.
	// Nil is a client.Client on the connection Open is given, with the
	// task API: a worker's credential asks the kernel for it, an
	// operator's makes it itself.
	Followers Followers
	// Embedder computes vectors; nil means LocalEmbedder.
	Embedder Embedder
	// Logger receives catch-up progress and follow errors.
	Logger *slog.Logger
	// MinScore is the similarity below which a memory is not recalled.
	MinScore float64
	// ReuseScore, when set, is the similarity above which a memory's
	// command may be reused without asking the model. Zero means the
	// threshold calibrated for the embedder (calibrate.go), which is
	// saved with the index and recomputed when the embedder changes.
	ReuseScore float64
	// MinSuccesses is how many different credentials must have reported
	// a success (not of a no_answer or session task) before a memory is
	// reused blindly, unless a user confirmed it (default 2).
	MinSuccesses int
	// MinConfidence is the share of successes a memory needs to be reused.
	MinConfidence float64
	// NoReuse turns blind reuse off: memories are only examples.
	NoReuse bool
	// SnapshotEvery is how often a changed index is written to disk.
	SnapshotEvery time.Duration
	// QuotaPerOwner is how many memories one owner (a client credential,
	// an HTTP token) may have; a new memory its tasks teach past it is
	// not added, while successes of the ones it has still count. The
	// installation's memories (owner empty) are not bounded. 0 is
	// DefaultQuotaPerOwner, < 0 none. Each index applies it as it
	// replays the stream, so workers with the same setting agree on
	// which memories exist.
	QuotaPerOwner int
}

func (c *Config) defaults() {
	if c.Embedder == nil {
		c.Embedder = LocalEmbedder()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.MinScore == 0 {
		c.MinScore = DefaultMinScore
	}
	if c.MinSuccesses <= 0 {
		c.MinSuccesses = DefaultMinSuccesses
	}
	if c.MinConfidence == 0 {
		c.MinConfidence = DefaultMinConfidence
	}
	if c.SnapshotEvery <= 0 {
		c.SnapshotEvery = DefaultSnapshotEvery
	}
	if c.QuotaPerOwner == 0 {
		c.QuotaPerOwner = DefaultQuotaPerOwner
	}
}

// Knowledge is a worker's copy of what the fleet learned: a chromem-go
// collection built from the AMF_MEMORY stream, caught up at open and then
// followed live by one goroutine that Close stops. chromem-go holds each
// memory (vector, instruction, metadata) and saves it; a flat index over
// the same vectors speeds up recall. Its position in the stream is saved
// with the index, so a restart resumes where it stopped.
type Knowledge struct {
	memory.Publisher

	cfg  Config
	log  *slog.Logger
	path string

	// mu orders changes to the collection and the flat index against
	// reads of both; chromem-go's own locks guard only single calls.
	// saving is held by save and around every change, taken before mu:
	// a save keeps changes out without holding mu, so recall goes on.
	saving  sync.Mutex
	mu      sync.RWMutex
	db      *chromem.DB
	coll    *chromem.Collection
	flat    *flatIndex
	dim     int
	applied uint64
	// calib is the embedder's calibration: loaded with the index, else
	// computed at Open. gate is what decides, with Config.ReuseScore in
	// place of the calibrated threshold when set. Neither changes after
	// Open.
	calib, gate Calibration
	// streamCreated is when the stream the index follows was created.
	streamCreated time.Time
	// vouching is set once the index applied the kernel's vouching
	// marker; awaiting holds the sequences of the records seen since
	// that await the kernel's verdict (vouch.go).
	vouching bool
	awaiting map[uint64]struct{}
	// forgotten holds, for each memory forgotten, its tombstone's
	// sequence: a verdict stored after the tombstone on a record stored
	// before it must not bring the memory back.
	forgotten map[string]uint64
	dirty     atomic.Bool // changed since the last save
	lastErr   error
	changed   chan struct{} // closed and replaced after every applied batch

	caughtUp     chan struct{}
	caughtUpOnce sync.Once

	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
}

// Open loads the saved index (if its embedder still matches),
// then catches up from the stream and follows it until Close.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Knowledge, error) {
	if js == nil {
		return nil, errors.New("open knowledge: no JetStream context")
	}
	cfg.defaults()
	if cfg.Followers == nil {
		cfg.Followers = &client.Client{NC: js.Conn(), JS: js, Names: cfg.Names, ViaAPI: true}
	}
	k := &Knowledge{
		Publisher: memory.Publisher{JS: js, Names: cfg.Names},
		cfg:       cfg,
		log:       cfg.Logger,
		changed:   make(chan struct{}),
		caughtUp:  make(chan struct{}),
	}
	if cfg.StateDir != "" {
		k.path = filepath.Join(cfg.StateDir, "memory", indexFile)
	}
	probe, err := cfg.Embedder.Embed(ctx, []string{"list files"})
	if err != nil {
		return nil, fmt.Errorf("open knowledge: probe embedder %s: %w", cfg.Embedder.Name(), err)
	}
	if len(probe) != 1 || len(probe[0]) == 0 {
		return nil, fmt.Errorf("open knowledge: %w: %s returned no vector for a probe", ErrEmbed, cfg.Embedder.Name())
	}
	k.dim = len(probe[0])
	stream, err := js.Stream(ctx, cfg.Names.MemoryStream())
	if err != nil {
		return nil, fmt.Errorf("open knowledge: stream %s: %w", cfg.Names.MemoryStream(), err)
	}
	info := stream.CachedInfo()
	if err := k.load(ctx, info); err != nil {
		return nil, err
	}
	k.streamCreated = info.Created
	if err := k.calibrate(ctx); err != nil {
		return nil, err
	}
	fctx, cancel := context.WithCancel(context.Background())
	k.cancel = cancel
	k.wg.Add(2)
	go func() { defer k.wg.Done(); k.follow(fctx) }()
	go func() { defer k.wg.Done(); k.snapshotLoop(fctx) }()
	return k, nil
}

// Close stops following the stream, saves the index and waits.
func (k *Knowledge) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	k.mu.Unlock()
	k.cancel()
	k.wg.Wait()
	return k.save()
}

// calibrate keeps the calibration loaded with the index when it is for
// this embedder and this calibration set, and computes it otherwise.
func (k *Knowledge) calibrate(ctx context.Context) error {
	if k.calib.Embedder != k.cfg.Embedder.Name() || k.calib.Set != calibrationSetID() {
		c, err := Calibrate(ctx, k.cfg.Embedder)
		if err != nil {
			return fmt.Errorf("open knowledge: %w", err)
		}
		k.calib = c
		k.dirty.Store(true)
		k.log.Info("memory: calibrated", "calibration", c.String())
	}
	k.gate = k.calib
	if k.cfg.ReuseScore != 0 {
		k.gate.Threshold = k.cfg.ReuseScore
	}
	return nil
}

// Calibration is the reuse threshold in force and how it was chosen.
func (k *Knowledge) Calibration() Calibration { return k.gate }

// Len is the number of memories in the index.
func (k *Knowledge) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.coll.Count()
}

// Applied is the last AMF_MEMORY sequence folded into the index.
func (k *Knowledge) Applied() uint64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.applied
}

// Err is the last error met while following the stream, nil when healthy.
func (k *Knowledge) Err() error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.lastErr
}

// CaughtUp is closed once the index holds everything the stream held
// when the knowledge base was opened.
func (k *Knowledge) CaughtUp() <-chan struct{} { return k.caughtUp }

// WaitSeq blocks until the index has applied stream sequence seq.
func (k *Knowledge) WaitSeq(ctx context.Context, seq uint64) error {
	for {
		k.mu.RLock()
		applied, ch := k.applied, k.changed
		k.mu.RUnlock()
		if applied >= seq {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for memory %d (at %d): %w", seq, applied, ctx.Err())
		case <-ch:
		}
	}
}

// Sync blocks until the index holds everything in the stream now,
// including the kernel's verdict on every worker credential's record in
// it (vouch.go).
func (k *Knowledge) Sync(ctx context.Context) error {
	stream, err := k.JS.Stream(ctx, k.cfg.Names.MemoryStream())
	if err != nil {
		return fmt.Errorf("sync memory: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("sync memory: %w", err)
	}
	if err := k.WaitSeq(ctx, info.State.LastSeq); err != nil {
		return err
	}
	return k.waitSettled(ctx)
}
