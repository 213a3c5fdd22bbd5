package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/retry"
	"github.com/amf-os/amf/kernel/status"
	"github.com/amf-os/amf/kernel/vouch"
)

// Cache is the hot cache a kernel's parts use: the task API reads task
// status and live workers from it, the status projector writes status to
// it (memory/cache's Redis and KV caches are ones).
type Cache interface {
	status.Cache
	// Workers lists the workers whose heartbeat has not expired.
	Workers(ctx context.Context) ([]bus.WorkerInfo, error)
}

// parts are what a kernel runs besides the server, each in a goroutine
// the kernel owns: the task API service, the status projector and the
// memory voucher.
type parts struct {
	nc    *nats.Conn
	cache Cache
	stop  context.CancelFunc
	g     *errgroup.Group
	done  <-chan struct{} // closed when a part fails or the parts stop
	// svc is the task API service, made even when NoTaskAPI: its quota
	// also counts the schedule runs this kernel queues.
	svc *api.Service
}

// startParts opens the hot cache and starts the task API service and,
// unless NoStatusProjector, the status projector on a connection of
// their own. They run until Shutdown; Wait returns the first one's error.
func (s *Server) startParts(ctx context.Context) error {
	nc, err := s.Connect(nats.Name("amf-kernel-api"))
	if err != nil {
		return err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return fmt.Errorf("task API: %w", err)
	}
	var hot Cache
	if s.OpenCache != nil {
		// Kernels of a cluster starting together create their replicated
		// buckets at once: JetStream may time out until leaders are elected.
		err := retry.AtStart(ctx, s.logger(), "hot cache buckets", func(ctx context.Context) (err error) {
			hot, err = s.OpenCache(ctx, nc)
			return err
		})
		if err != nil {
			nc.Close()
			return fmt.Errorf("hot cache: %w", err)
		}
	}
	pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(pctx)
	svc := &api.Service{
		Client:  &client.Client{NC: nc, JS: js, Names: s.Names, Cache: statusSource(hot)},
		Version: s.Version,
		Quota:   s.Quota,
		// nc is the kernel's own credential: it writes schedules.
		Schedules:              s.ScheduleStore(js),
		ReadersPerOwner:        s.ReadersPerOwner,
		FollowersPerCredential: s.FollowersPerCredential,
	}
	if hot != nil {
		svc.Workers = hot
		if r, ok := hot.(client.RecentSource); ok {
			svc.Recent = r
		}
		// Workers' heartbeats say which workspaces they serve: a task
		// naming one nobody serves is refused at submission.
		svc.Client.Offers = hot
	}
	s.parts = &parts{nc: nc, cache: hot, stop: stop, g: g, done: gctx.Done(), svc: svc}
	if !s.NoTaskAPI {
		g.Go(func() error { return partErr("task API", svc.Run(gctx)) })
	}
	if !s.NoMemoryVoucher {
		v := &vouch.Voucher{JS: js, Names: s.Names, Operator: s.operatorCred, Logger: s.logger().With("part", "memory voucher")}
		g.Go(func() error { return partErr("memory voucher", v.Run(gctx)) })
	}
	if hot != nil && !s.NoStatusProjector {
		log := s.logger().With("part", "status")
		lease := &status.Lease{JS: js, Names: s.Names, Key: s.Names.StatusLease(), Holder: s.holder(), Logger: log}
		p := &status.StatusProjector{JS: js, Names: s.Names, Cache: hot, Lease: lease, Logger: log}
		g.Go(func() error { return partErr("status projector", p.Run(gctx)) })
	}
	return nil
}

// statusSource is the cache the client reads status from first; none
// when there is no cache (a nil interface, not a nil Cache in one).
func statusSource(hot Cache) client.StatusSource {
	if hot == nil {
		return nil
	}
	return hot
}

// stopParts stops the parts, waits for them and closes the cache.
func (s *Server) stopParts() {
	p := s.parts
	if p == nil {
		return
	}
	s.parts = nil
	p.stop()
	_ = p.g.Wait()
	p.svc.Close()
	// The connection outlives the parts, so an answer in flight is sent.
	drain(p.nc)
	if cl, ok := p.cache.(io.Closer); ok {
		_ = cl.Close()
	}
}

// Wait blocks until ctx ends (it returns nil) or one of the kernel's
// parts fails (it returns that part's error).
func (s *Server) Wait(ctx context.Context) error {
	p := s.parts
	if p == nil {
		return ErrNotReady
	}
	select {
	case <-ctx.Done():
		return nil
	case <-p.done:
		if err := p.g.Wait(); err != nil {
			return err
		}
		return errors.New("kernel parts stopped")
	}
}

// holder names this kernel in the status lease: its host and state dir,
// which only one kernel at a time can open, so a kernel restarted before
// its lease expired takes its own lease back at once.
func (s *Server) holder() string {
	host, _ := os.Hostname()
	dir := s.StateDir
	if dir == "" {
		dir = DefaultStateDir()
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return host + ":" + dir
}

func partErr(part string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", part, err)
}

// drain lets a handler in flight finish its answer, then closes nc.
func drain(nc *nats.Conn) {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if nc.Drain() != nil {
		nc.Close()
		return
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		nc.Close()
	}
}

// TaskAPI is the kernel's task API service, whose quota also counts the
// schedule runs the kernel queues. A kernel started with NoTaskAPI does
// not run it: a test runs it itself to serve the one quota both count
// against. Nil before Start.
func (s *Server) TaskAPI() *api.Service {
	if s.parts == nil {
		return nil
	}
	return s.parts.svc
}
