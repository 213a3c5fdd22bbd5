package kernel

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/sys/unix"

	"github.com/amf-os/amf/kernel/bus"
)

// The store's limit. nats-server, left to itself, allows JetStream three
// quarters of the disk space free when it starts, and never changes that
// while it runs: a kernel that started on a nearly full disk refused
// every submission after space was freed, until it restarted. So the
// kernel sets the limit itself, by the same rule (a limit the
// configuration names is a ceiling, not a replacement), and raises it when
// space comes back (nats-server may raise a limit at run time, never
// lower it). At the limit JetStream refuses writes at once ("insufficient
// resources"), which the client reports as ErrStoreFull, well before the
// disk itself is full (where a failed write would stop the store).

// storeWatchEvery is how often the kernel looks at its store.
var storeWatchEvery = time.Second

// storeHeadroom is how close to its limit a store counts as full: below
// it, a task and its events no longer fit.
const storeHeadroom = 2 << 20

// storeLimit is three quarters of what the store could hold: the disk's
// free space plus what the store already takes.
func storeLimit(storeDir string, used uint64) (limit int64, free uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(storeDir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", storeDir, err)
	}
	free = st.Bavail * uint64(st.Bsize)
	return int64((free + used) / 4 * 3), free, nil
}

// dirSize is what the files under dir take.
func dirSize(dir string) uint64 {
	var n uint64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += uint64(info.Size())
			}
		}
		return nil
	})
	return n
}

// setStoreLimit gives opts the kernel's own limit, or the one its
// configuration names when that is lower, and returns the configured one
// (0: none) as the ceiling the kernel's limit is never raised past. A
// configured limit larger than the disk (the shipped cluster
// configuration says 50GB) would let JetStream write until the disk
// itself is full, where a failed write stops the store and nothing says
// "store full".
func setStoreLimit(opts *server.Options) (ceiling int64, err error) {
	limit, _, err := storeLimit(opts.StoreDir, dirSize(opts.StoreDir))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	ceiling = opts.JetStreamMaxStore
	opts.JetStreamMaxStore = capStore(max(limit, 1<<20), ceiling)
	return ceiling, nil
}

// capStore is limit, or ceiling when there is one and it is lower.
func capStore(limit, ceiling int64) int64 {
	if ceiling > 0 {
		return min(limit, ceiling)
	}
	return limit
}

// storeWatch owns the goroutine that raises the limit and announces the
// store's state.
type storeWatch struct {
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu   sync.Mutex
	last bus.StoreReport
}

func (s *Server) watchStore(opts *server.Options) *storeWatch {
	ctx, cancel := context.WithCancel(context.Background())
	sw := &storeWatch{stop: cancel}
	log := s.logger().With("part", "store")
	ns, nc := s.ns, s.nc
	ceiling := s.storeCeiling
	sw.wg.Add(1)
	go func() {
		defer sw.wg.Done()
		t := time.NewTicker(storeWatchEvery)
		defer t.Stop()
		for {
			r, err := storeState(ns, opts)
			if err != nil {
				log.Warn("read the store's state", "err", err)
			} else {
				if raised := sw.raise(ns, opts, ceiling, r, log); raised {
					r, _ = storeState(ns, opts)
				}
				sw.report(r, log)
				_ = nc.Publish(s.Names.KernelStore(), r.Encode())
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return sw
}

// storeState reads the store's use and limit and the disk's free space.
func storeState(ns *server.Server, opts *server.Options) (bus.StoreReport, error) {
	jsz, err := ns.Jsz(nil)
	if err != nil {
		return bus.StoreReport{}, err
	}
	r := bus.StoreReport{Server: ns.Name(), Used: jsz.Store, Reserved: jsz.ReservedStore, TS: time.Now().UTC()}
	if cfg := ns.JetStreamConfig(); cfg != nil {
		r.Limit = cfg.MaxStore
	}
	var st unix.Statfs_t
	if err := unix.Statfs(opts.StoreDir, &st); err == nil {
		r.Free = st.Bavail * uint64(st.Bsize)
	}
	if jsz.Disabled || r.Limit <= 0 {
		r.Full, r.Reason = true, "store full: JetStream is disabled (out of disk space); free space on the kernel's disk"
		return r, nil
	}
	if room := r.Limit - int64(r.Used) - int64(r.Reserved); room < storeHeadroom {
		r.Full = true
		r.Reason = fmt.Sprintf("store full: JetStream stores %s and reserves %s for bounded streams of the %s it may use (3/4 of the disk at %s, %s free) and refuses new tasks; free disk space there, and it recovers by itself",
			mib(r.Used), mib(r.Reserved), mib(uint64(r.Limit)), opts.StoreDir, mib(r.Free))
	}
	return r, nil
}

// raise lifts a full store's limit when the disk has more room than it
// had, up to the configured ceiling (0: none); it reports whether it did.
func (sw *storeWatch) raise(ns *server.Server, opts *server.Options, ceiling int64, r bus.StoreReport, log *slog.Logger) bool {
	// Only a full store is raised: a reload re-reads every option, which
	// a kernel running well has no reason to risk as other programs'
	// files come and go on its disk.
	if !r.Full {
		return false
	}
	want := capStore(int64((r.Free+r.Used)/4*3), ceiling)
	if want < r.Limit+storeHeadroom {
		return false
	}
	next := *opts
	next.JetStreamMaxStore = want
	if len(next.TrustedOperators) > 0 {
		// Derived from the operators when options are checked; given
		// both, a reload refuses them as conflicting.
		next.TrustedKeys = nil
	}
	if err := ns.ReloadOptions(&next); err != nil {
		log.Warn("raise the store's limit", "to", mib(uint64(want)), "err", err)
		return false
	}
	opts.JetStreamMaxStore = want
	log.Info("store limit raised: the disk has room again", "limit", mib(uint64(want)), "free", mib(r.Free))
	return true
}

// report logs a change between full and not, and keeps the last report.
func (sw *storeWatch) report(r bus.StoreReport, log *slog.Logger) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	switch {
	case r.Full && !sw.last.Full:
		log.Error("store full; new tasks are refused", "reason", r.Reason)
	case !r.Full && sw.last.Full:
		log.Info("store has room again; tasks are accepted")
	}
	sw.last = r
}

// Store is the kernel's last look at its store.
func (s *Server) Store() bus.StoreReport {
	if s.store == nil {
		return bus.StoreReport{}
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return s.store.last
}

// Stop ends the watch and waits for it.
func (sw *storeWatch) Stop() {
	if sw == nil {
		return
	}
	sw.stop()
	sw.wg.Wait()
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
