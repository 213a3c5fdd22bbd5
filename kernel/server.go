// Package kernel runs the embedded NATS server with JetStream that is the
// bus of AMF-OS, and provisions the streams the other parts rely on (pool
// consumers and buckets are made by the parts that use them). It never
// runs commands and never calls the model.
package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/schedule"
)

// DefaultListen is the client address when none is configured.
const DefaultListen = "127.0.0.1:4222"

// Sentinel errors of the kernel.
var (
	ErrNotReady = errors.New("kernel not ready")
	ErrConfig   = errors.New("invalid kernel configuration")
)

// Server is the embedded kernel. The zero value listens on DefaultListen
// and stores JetStream data under the user's state directory.
type Server struct {
	// StateDir holds the JetStream store (StateDir/jetstream).
	StateDir string
	// Listen is the client address, host:port; port 0 or -1 picks a free one.
	Listen string
	// DontListen serves in-process connections only (tests, `amf up` when
	// no outside client is wanted).
	DontListen bool
	// Names derives subjects and stream names; zero is the default prefix.
	Names bus.Names
	// EventsMaxAge bounds how long task events are kept (default 24h).
	EventsMaxAge time.Duration
	// EventsMaxBytes bounds the events stream's size (default unlimited).
	EventsMaxBytes int64
	// TasksDuplicates is how long the tasks stream remembers a task id
	// (default bus.DefaultTasksDuplicates); EventsDuplicates the same for
	// event message ids (default bus.DefaultEventsDuplicates).
	TasksDuplicates time.Duration
	// TasksMaxBytes bounds the queued tasks (default
	// bus.DefaultTasksMaxBytes); past it submissions are refused.
	TasksMaxBytes    int64
	EventsDuplicates time.Duration
	// Quota bounds what one owner (a client credential, an HTTP token)
	// holds at once; the task API refuses that owner past it (api.Quota).
	Quota api.Quota
	// QuotaSchedules bounds the schedules one owner keeps (0:
	// $AMF_SCHEDULES_PER_MAKER, else schedule.DefaultPerMaker; < 0 none).
	QuotaSchedules int
	// QuotaScheduleBytes bounds the bytes of the schedules store one
	// owner's schedules take, each with the runs it keeps (0:
	// schedule.DefaultOwnerBytes; < 0 none).
	QuotaScheduleBytes int64
	// ReadersPerOwner caps the event streams one owner holds open at
	// once (default bus.DefaultReadersPerOwner; < 0 none).
	ReadersPerOwner int
	// FollowersPerCredential caps the consumers one worker credential
	// holds on the memory stream (default
	// bus.DefaultFollowersPerCredential; < 0 none).
	FollowersPerCredential int
	// ServerName names this kernel in a cluster; default is the hostname.
	ServerName string
	// ConfigFile, when set, is a nats-server configuration file loaded
	// first (cluster routes, leafnodes, auth, TLS); the fields above
	// override what it says.
	ConfigFile string
	// Replicas is how many copies of each stream a cluster keeps; zero
	// means 1 for a lone kernel and 3 when the configuration clusters it.
	Replicas int
	// Sync is how often JetStream flushes to disk: "default", "always" or
	// a duration (see applySync).
	Sync string
	// GCPercent, when > 0, is the process's GC percent unless GOGC is
	// set: `amf kernel`, a process of its own, runs with
	// DefaultGCPercent (see gcpace.go); 0 leaves the process's as it is.
	GCPercent int
	// Logger receives the kernel's own logs; nil is slog.Default().
	Logger *slog.Logger
	// NATSLogs passes nats-server's own log lines to Logger.
	NATSLogs bool
	// AuthDir holds the installation's keys (see Authority); default
	// StateDir/auth. Kernels of one cluster share its content.
	AuthDir string
	// TLS, when its certificate is set, makes clients connect over TLS.
	TLS TLSFiles
	// LeafListen, host:port, accepts leafnodes: remote sites that dial
	// out to the kernel (see leafnode.go). TLS is the client port's.
	LeafListen string
	// OpenCache opens the hot cache on the kernel's connection once the
	// bus is provisioned: the task API reads task status and live workers
	// from it and the status projector keeps status in it. Nil serves the
	// API from the event stream alone and runs no projector.
	OpenCache func(ctx context.Context, nc *nats.Conn) (Cache, error)
	// NoTaskAPI serves no task API from this kernel (tests that serve
	// their own; the API of several kernels is one service either way).
	NoTaskAPI bool
	// NoStatusProjector leaves the cache's status to other kernels (in a
	// cluster the kernels that project elect one by lease).
	NoStatusProjector bool
	// NoMemoryVoucher runs no memory voucher (kernel/vouch) here: tests
	// that store learned records before vouching begins. Without any
	// kernel vouching, no index learns what a worker credential
	// publishes.
	NoMemoryVoucher bool
	// Version is the task API service's version (`nats micro ls`).
	Version string

	ns        *server.Server
	nc        *nats.Conn // the kernel's own connection: provisioning, pools, what it answers
	ncClosed  chan struct{}
	auth      *Authority
	self      []byte     // the kernel's own admin credential, never written out
	exhausted *nats.Conn // follows max-deliveries advisories
	schedules *schedule.Runner
	wildcards *sweeper
	// revokedTasks cancels the tasks of owners revoked since.
	revokedTasks *sweeper
	// readers deletes readers' consumers their task no longer needs.
	readers *sweeper
	// uncapConns stops bounding client credentials' connections.
	uncapConns func()
	store      *storeWatch
	trim       *memTrim
	// storeCeiling is the store limit the configuration file names (0:
	// none), which the kernel's own limit never passes.
	storeCeiling int64
	parts        *parts // the task API and the status projector
}

// Start runs the server, provisions the bus and starts what the kernel
// runs (schedules, the task API service, the status projector); it
// returns once clients can connect. Call Shutdown to stop it.
func (s *Server) Start(ctx context.Context) error {
	opts, err := s.options()
	if err != nil {
		return err
	}
	if err := s.secure(opts); err != nil {
		return err
	}
	paceGC(s.GCPercent, s.logger().With("part", "memory"))
	ns, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("start kernel: %w", err)
	}
	if s.NATSLogs {
		ns.SetLoggerV2(natsLogger{s.logger()}, false, false, false)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return fmt.Errorf("start kernel: %w: not ready after 30s (is %s free?)", ErrNotReady, net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	}
	// The store's watcher reloads the options from a copy of its own,
	// taken once the server has filled them in (its ports): raising the
	// limit then writes nothing the running server reads.
	storeOpts := *opts
	s.ns = ns
	s.ncClosed = make(chan struct{})
	closed := s.ncClosed
	nc, err := s.Connect(nats.Name("amf-kernel"), nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if err != nil {
		s.Shutdown()
		return err
	}
	s.nc = nc
	if s.uncapConns, err = s.capConnections(); err != nil {
		s.Shutdown()
		return fmt.Errorf("start kernel: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		s.Shutdown()
		return fmt.Errorf("start kernel: %w", err)
	}
	replicas := s.Replicas
	if replicas <= 0 {
		replicas = 1
		if opts.Cluster.Port != 0 {
			replicas = 3
		}
	}
	if err := provisionWhenReady(ctx, js, Provisioning{
		Names: s.Names, EventsMaxAge: s.EventsMaxAge, EventsMaxBytes: s.EventsMaxBytes,
		TasksDuplicates: s.TasksDuplicates, EventsDuplicates: s.EventsDuplicates, TasksMaxBytes: s.TasksMaxBytes, Replicas: replicas,
	}, s.logger()); err != nil {
		s.Shutdown()
		return err
	}
	if s.exhausted, err = s.endExhaustedTasks(); err != nil {
		s.Shutdown()
		return err
	}
	if err := s.servePools(nc, js); err != nil {
		s.Shutdown()
		return fmt.Errorf("start kernel: %w", err)
	}
	s.wildcards = s.sweepWildcardTasks(js)
	s.store = s.watchStore(&storeOpts)
	s.trim = trimMemory(s.logger().With("part", "memory"))
	if _, err := refuseNested(s.nc, s.Names, s.logger()); err != nil {
		s.Shutdown()
		return fmt.Errorf("start kernel: %w", err)
	}
	if err := s.startParts(ctx); err != nil {
		s.Shutdown()
		return fmt.Errorf("start kernel: %w", err)
	}
	// After the parts: each run counts against its owner's quota in the
	// task API's ledger.
	if err := s.runSchedules(ctx, js); err != nil {
		s.Shutdown()
		return fmt.Errorf("start kernel: %w", err)
	}
	s.revokedTasks = s.sweepRevokedTasks(js)
	s.readers = s.sweepReaders(js)
	s.logger().Info("kernel ready", "client_url", s.ClientURL(), "store", opts.StoreDir)
	return nil
}

// maxControlLine bounds a protocol line the kernel accepts (see options).
const maxControlLine = 64 << 10

// maxClosedClients bounds the closed connections the kernel remembers
// (see options).
const maxClosedClients = 256

func (s *Server) options() (*server.Options, error) {
	opts := &server.Options{}
	if s.ConfigFile != "" {
		o, err := server.ProcessConfigFile(s.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("%w: read %s: %v", ErrConfig, s.ConfigFile, err)
		}
		opts = o
	}
	listen := s.Listen
	if listen == "" {
		listen = DefaultListen
	}
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("%w: listen address %q: want host:port such as 127.0.0.1:4222", ErrConfig, listen)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("%w: listen port %q is not a number", ErrConfig, portStr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts.Host, opts.Port = host, port
	opts.DontListen = s.DontListen
	opts.JetStream = true
	// A client's CONNECT line carries its user JWT, whose permissions
	// (a worker's pools, every JetStream API subject it may call) outgrow
	// nats-server's 4 KiB default.
	if opts.MaxControlLine < maxControlLine {
		opts.MaxControlLine = maxControlLine
	}
	// nats-server keeps a record of each closed connection, its
	// subscriptions listed, for the monitoring's closed connections:
	// 10,000 by default, megabytes a kernel holds forever once clients
	// have come and gone (every `amf run`, every CLI call). A config
	// file's max_closed_clients stands.
	if opts.MaxClosedClients == 0 {
		opts.MaxClosedClients = maxClosedClients
	}
	stateDir := s.StateDir
	if stateDir == "" {
		stateDir = DefaultStateDir()
	}
	opts.StoreDir = filepath.Join(stateDir, "jetstream")
	if err := os.MkdirAll(opts.StoreDir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: state dir: %v", ErrConfig, err)
	}
	if s.ServerName != "" {
		opts.ServerName = s.ServerName
	}
	if s.storeCeiling, err = setStoreLimit(opts); err != nil {
		return nil, err
	}
	if err := applySync(opts, s.Sync); err != nil {
		return nil, err
	}
	if err := s.leafListen(opts); err != nil {
		return nil, err
	}
	leafDomain(opts)
	opts.NoSigs = true
	opts.MaxPayload = 8 << 20
	return opts, nil
}

// Connect opens a client connection to this kernel, in-process when
// possible so co-located parts skip the TCP stack.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	if s.ns == nil {
		return nil, ErrNotReady
	}
	opts = append([]nats.Option{nats.InProcessServer(s.ns), nats.MaxReconnects(-1), credsOption(s.self)}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to kernel: %w", err)
	}
	return nc, nil
}

// ClientURL is where outside clients connect ("" when DontListen).
func (s *Server) ClientURL() string {
	if s.ns == nil || s.DontListen {
		return ""
	}
	return s.ns.ClientURL()
}

// Shutdown stops the server and waits until it has stopped. Clients
// should drain their connections before this is called.
func (s *Server) Shutdown() {
	s.wildcards.Stop()
	s.wildcards = nil
	s.store.Stop()
	s.store = nil
	s.trim.Stop()
	s.trim = nil
	// The runner and the revoked tasks' sweep first: they use the parts'
	// quota.
	s.revokedTasks.Stop()
	s.revokedTasks = nil
	s.readers.Stop()
	s.readers = nil
	if s.schedules != nil {
		s.schedules.Stop()
		s.schedules = nil
	}
	s.stopParts()
	if s.uncapConns != nil {
		s.uncapConns()
		s.uncapConns = nil
	}
	if s.nc != nil {
		// Drain lets a handler in flight finish its answer first.
		if s.nc.Drain() == nil {
			select {
			case <-s.ncClosed:
			case <-time.After(10 * time.Second):
			}
		}
		s.nc.Close()
		s.nc = nil
	}
	if s.exhausted != nil {
		s.exhausted.Close()
		s.exhausted = nil
	}
	if s.ns == nil {
		return
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.ns = nil
	s.self = nil
}

// Run starts the kernel and all it runs, blocks until ctx ends or one of
// its parts fails, then shuts it down; it returns that part's error.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	err := s.Wait(ctx)
	s.Shutdown()
	return err
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// DefaultStateDir is $XDG_STATE_HOME/amf, else ~/.local/state/amf.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "amf")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "amf")
	}
	return filepath.Join(home, ".local", "state", "amf")
}
