// Package bridge is the HTTP face of AMF-OS: the task API, Server-Sent
// Events re-emitted from the bus, the web console, health and metrics,
// behind bearer tokens with scopes and policy grants (auth.go). It
// publishes and reads bus messages only; it never runs a command and never
// calls the model.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// DefaultListen is the bridge address when none is configured.
const DefaultListen = "127.0.0.1:8080"

// DefaultKeepAlive is the interval of SSE comment lines that keep proxies
// from closing an idle stream.
const DefaultKeepAlive = 15 * time.Second

// ErrRunTwice is returned by a second Run of the same Server.
var ErrRunTwice = errors.New("bridge: this Server has already run; make a new one")

// Health reports on a dependency for /healthz; the hot cache implements it.
type Health interface {
	Ping(ctx context.Context) error
	Name() string
}

// Server is the bridge. Set NC; the rest has useful zero values.
type Server struct {
	// NC is the connection to the kernel.
	NC *nats.Conn
	// Names derives subjects; zero is the default prefix.
	Names bus.Names
	// Listen is host:port (default 127.0.0.1:8080; port 0 picks one).
	Listen string
	// Client is the bus client; derived from NC when nil.
	Client *client.Client
	// Schedules keeps schedules; the kernel's task API when nil.
	Schedules client.ScheduleStore
	// Workers lists live workers; a heartbeat roster when nil.
	Workers api.WorkerLister
	// Cache, when set, is reported on by /healthz.
	Cache Health
	// Recent, when set, answers GET /v1/tasks (the hot cache).
	Recent interface {
		RecentStatuses(ctx context.Context, n int) ([]bus.Status, error)
	}
	// KeepAlive is the SSE comment interval (default 15s).
	KeepAlive time.Duration
	// Logger receives the bridge's logs; nil is slog.Default().
	Logger *slog.Logger

	// Tokens checks bearer tokens and console sessions. It is required
	// unless NoAuth is set.
	Tokens TokenVerifier
	// NoAuth serves every endpoint to anyone. Only for a bridge that no
	// untrusted process can reach (tests and benchmarks).
	NoAuth bool
	// SessionIdle and SessionLifetime end a console session unused for,
	// or older than, that long (defaults 12h and 7 days). Sessions live in
	// this bridge's memory.
	SessionIdle, SessionLifetime time.Duration
	// MetricsOpen serves /metrics without a token; otherwise it needs
	// MetricsScope (default read).
	MetricsOpen  bool
	MetricsScope tokens.Scope
	// CORSOrigins are the other origins whose pages may call the API with
	// a bearer token; none by default. Cookies never go cross-origin.
	CORSOrigins []string
	// StreamsPerToken bounds the event streams one token holds open at
	// once (default 32): each following stream holds a consumer of the
	// events stream, whose number the kernel caps for everyone.
	StreamsPerToken int
	// MoreMetrics are series of other parts in this process, served on
	// /metrics beside the bridge's (amf up's worker).
	MoreMetrics prometheus.Gatherer

	echo             *echo.Echo
	streams          streamCounts
	sessions         *consoleSessions
	deliveryFailures *client.DeliveryFailures
	stores           *storeReports
	metrics          *metrics
	addr             net.Addr
	readyOnce        sync.Once
	ready            chan struct{}
	ran              atomic.Bool
}

// Handler builds the routes; Run serves them. Exposed for tests that
// want an httptest server.
func (s *Server) Handler() (http.Handler, error) {
	if s.NC == nil {
		return nil, errors.New("bridge: NC is required")
	}
	if s.Tokens == nil && !s.NoAuth {
		return nil, errors.New("bridge: Tokens is required (NoAuth serves the API to anyone)")
	}
	if s.MetricsScope == "" {
		s.MetricsScope = tokens.ScopeRead
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Client == nil {
		s.Client = &client.Client{NC: s.NC, Names: s.Names}
	}
	if s.KeepAlive <= 0 {
		s.KeepAlive = DefaultKeepAlive
	}
	s.metrics = newMetrics()
	s.sessions = newConsoleSessions(s.SessionIdle, s.SessionLifetime)
	s.stores = s.followStores()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = handleError
	e.Use(noFraming)
	e.Use(s.metrics.middleware)
	if len(s.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins: s.CORSOrigins,
			AllowMethods: []string{http.MethodGet, http.MethodPost, http.MethodDelete},
			AllowHeaders: []string{"Authorization", "Content-Type", "Last-Event-ID"},
		}))
	}
	submit, read, cancel := s.require(tokens.ScopeSubmit), s.require(tokens.ScopeRead), s.require(tokens.ScopeCancel)
	e.POST("/v1/tasks", s.submit, submit)
	e.GET("/v1/tasks", s.list, read)
	e.GET("/v1/tasks/:id", s.status, read)
	e.DELETE("/v1/tasks/:id", s.cancel, cancel)
	e.GET("/v1/tasks/:id/events", s.events, read)
	e.GET("/v1/workers", s.workers, read)
	e.GET("/v1/memories", s.memories, read)
	e.GET("/v1/memories/:id", s.memoryToConfirm, s.require(tokens.ScopeAdmin))
	e.POST("/v1/memories/:id/confirm", s.confirmMemory, s.require(tokens.ScopeAdmin))
	// Schedules: making or resuming one starts runs (submit), pausing or
	// deleting stops them (cancel).
	e.POST("/v1/schedules", s.createSchedule, submit)
	e.GET("/v1/schedules", s.listSchedules, read)
	e.GET("/v1/schedules/:id", s.getSchedule, read)
	e.POST("/v1/schedules/:id/pause", s.pauseSchedule, cancel)
	e.POST("/v1/schedules/:id/resume", s.resumeSchedule, submit)
	e.DELETE("/v1/schedules/:id", s.deleteSchedule, cancel)
	e.POST("/v1/session", s.login)
	e.GET("/v1/session", s.whoami)
	e.DELETE("/v1/session", s.logout)
	s.routePools(e, read)
	e.GET("/healthz", s.healthz)
	var metricsAuth []echo.MiddlewareFunc
	if !s.MetricsOpen {
		metricsAuth = append(metricsAuth, s.require(s.MetricsScope))
	}
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler(s.MoreMetrics)), metricsAuth...)
	s.routeConsole(e)
	s.echo = e
	return e, nil
}

// Run serves HTTP until ctx ends; open event streams end with it.
// A Server runs once: a second Run is an error.
func (s *Server) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return ErrRunTwice
	}
	h, err := s.Handler()
	if err != nil {
		return err
	}
	if s.Workers == nil {
		r := &client.Roster{NC: s.NC, Names: s.Names}
		if err := r.Start(); err != nil {
			return err
		}
		defer r.Stop()
		s.Workers = r
	}
	listen := s.Listen
	if listen == "" {
		listen = DefaultListen
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("bridge listen %s: %w", listen, err)
	}
	s.addr = ln.Addr()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	s.Logger.Info("bridge listening", "url", "http://"+s.addr.String())
	close(s.Ready())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("bridge: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		_ = srv.Close()
	}
	<-errc
	return nil
}

// Ready returns a channel closed once Addr is known.
func (s *Server) Ready() chan struct{} {
	s.readyOnce.Do(func() { s.ready = make(chan struct{}) })
	return s.ready
}

// Addr is the address the bridge listens on, once ready.
func (s *Server) Addr() net.Addr { return s.addr }
