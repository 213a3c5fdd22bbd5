package ollamatest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
)

// TB is the part of testing.TB the server uses; *testing.T, *testing.B and
// *testing.F satisfy it. The package does not import testing, so programs
// can link it.
type TB interface {
	Helper()
	Cleanup(func())
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Server is a running fake Ollama. Its methods are safe for concurrent use.
type Server struct {
	tb        TB // nil outside tests
	cfg       config
	models    map[string]*modelEntry // by canonical name
	order     []*modelEntry          // as configured, for listings
	started   time.Time
	embedDims int
	hs        *http.Server
	routes    map[string]map[string]http.HandlerFunc // path → method → handler
	done      chan struct{}                          // closed by Close: every waiting handler returns
	serving   sync.WaitGroup
	inflight  sync.WaitGroup

	mu         sync.Mutex
	addr       string
	ln         net.Listener // nil while down
	conns      map[net.Conn]struct{}
	closed     bool
	queue      []Reply
	handler    Handler
	tokenDelay time.Duration
	hang       chan struct{} // non-nil while hanging; closed on release
	frozen     chan struct{} // as hang, for every route (SetFrozen)
	loaded     map[string]time.Time
	chats      []api.ChatRequest
}

// New starts a server for a test and closes it when the test ends; a
// failure to listen fails the test. Programs use Start.
func New(tb TB, opts ...Option) *Server {
	tb.Helper()
	s, err := start(tb, opts)
	if err != nil {
		tb.Fatalf("ollamatest: %v", err)
		return nil
	}
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server; the caller must Close it.
func Start(opts ...Option) (*Server, error) { return start(nil, opts) }

func start(tb TB, opts []Option) (*Server, error) {
	cfg := config{addr: "127.0.0.1:0", models: DefaultModels, version: "0.17.4", embedDims: 768}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.embedDims <= 0 {
		return nil, fmt.Errorf("embedding dimensions %d: must be positive", cfg.embedDims)
	}
	s := &Server{
		tb:         tb,
		cfg:        cfg,
		models:     make(map[string]*modelEntry),
		started:    time.Now().UTC().Truncate(time.Second),
		embedDims:  cfg.embedDims,
		done:       make(chan struct{}),
		conns:      make(map[net.Conn]struct{}),
		queue:      append([]Reply(nil), cfg.replies...),
		handler:    cfg.handler,
		tokenDelay: cfg.tokenDelay,
		loaded:     make(map[string]time.Time),
	}
	for _, m := range cfg.models {
		name := canonicalName(m.Name)
		if name == "" {
			return nil, errors.New("model with an empty name")
		}
		if _, dup := s.models[name]; dup {
			continue
		}
		e := newModelEntry(m, s.started)
		s.models[name] = e
		s.order = append(s.order, e)
	}
	s.routes = s.routeTable()
	s.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         s.trackConn,
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	return s, nil
}

// serve runs the HTTP server on ln; s.mu must not be held by another
// goroutine that waits for serving.
func (s *Server) serve(ln net.Listener) {
	s.ln = ln
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		_ = s.hs.Serve(ln) // returns when ln closes (Down) or on Close
	}()
}

func (s *Server) trackConn(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateNew:
		s.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	}
}

// URL is the base URL, "http://127.0.0.1:PORT", as OLLAMA_HOST takes it.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Addr is the listening address, "127.0.0.1:PORT"; it stays the same
// across Down and Up.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Client is a real Ollama API client for this server.
func (s *Server) Client() *api.Client {
	u, _ := url.Parse(s.URL()) // always well formed
	return api.NewClient(u, &http.Client{})
}

// Down stops the server the way a dead Ollama process does: the listener
// closes (new connections are refused) and open connections are dropped.
// Up brings it back on the same address.
func (s *Server) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return
	}
	_ = s.ln.Close()
	s.ln = nil
	for c := range s.conns {
		_ = c.Close()
		delete(s.conns, c)
	}
}

// Up listens again on the address Down released.
func (s *Server) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("ollamatest: server closed")
	}
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen again on %s: %w", s.addr, err)
	}
	s.serve(ln)
	return nil
}

// Close stops the server, releases hung requests and waits for every
// goroutine it started. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	_ = s.hs.Close()
	s.Down()
	s.serving.Wait()
	s.inflight.Wait()
}

// Enqueue appends replies to the queue.
func (s *Server) Enqueue(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// SetHang makes chat and embed requests hang (accepted, never
// answered) while on; turning it off lets the waiting requests proceed.
func (s *Server) SetHang(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.hang == nil:
		s.hang = make(chan struct{})
	case !on && s.hang != nil:
		close(s.hang)
		s.hang = nil
	}
}

// SetFrozen makes every request hang, /api/show and /api/ps included,
// as a server stopped with SIGSTOP does: connections are accepted and
// nothing is answered. Turning it off lets the waiting requests proceed.
func (s *Server) SetFrozen(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.frozen == nil:
		s.frozen = make(chan struct{})
	case !on && s.frozen != nil:
		close(s.frozen)
		s.frozen = nil
	}
}

// Requests returns the chat requests received so far, in arrival order,
// including those answered with an error. Treat them as read-only.
func (s *Server) Requests() []api.ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]api.ChatRequest(nil), s.chats...)
}

// ServeHTTP routes as Ollama's router does, with gin's plain-text 404 and
// 405 answers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeText(w, http.StatusServiceUnavailable, "server closed")
		return
	}
	s.inflight.Add(1)
	frozen := s.frozen
	s.mu.Unlock()
	defer s.inflight.Done()
	if !s.wait(r.Context(), frozen) {
		return
	}

	methods, ok := s.routes[r.URL.Path]
	if !ok {
		writeText(w, http.StatusNotFound, "404 page not found")
		return
	}
	h, ok := methods[r.Method]
	if !ok {
		writeText(w, http.StatusMethodNotAllowed, "405 method not allowed")
		return
	}
	h(w, r)
}

func (s *Server) routeTable() map[string]map[string]http.HandlerFunc {
	version := func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": s.cfg.version})
	}
	return map[string]map[string]http.HandlerFunc{
		"/api/version": {http.MethodGet: version, http.MethodHead: version},
		"/api/ps":      {http.MethodGet: s.handlePs},
		"/api/show":    {http.MethodPost: s.handleShow},
		"/api/chat":    {http.MethodPost: s.handleChat},
		"/api/embed":   {http.MethodPost: s.handleEmbed},
	}
}

// lookup finds a pulled model by any of its spellings.
func (s *Server) lookup(name string) *modelEntry { return s.models[canonicalName(name)] }

// waitHang blocks while the server hangs; false means give up (client gone
// or server closing).
func (s *Server) waitHang(ctx context.Context) bool {
	s.mu.Lock()
	ch := s.hang
	s.mu.Unlock()
	return s.wait(ctx, ch)
}

// wait blocks until ch is closed (nil: not at all); false means give up.
func (s *Server) wait(ctx context.Context, ch chan struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
	case <-s.done:
	}
	return false
}

// load makes the first request for a model wait the load delay; false
// means give up.
func (s *Server) load(ctx context.Context, m *modelEntry) bool {
	s.mu.Lock()
	_, warm := s.loaded[m.display]
	s.mu.Unlock()
	if !warm && !s.sleep(ctx, s.cfg.loadDelay) {
		return false
	}
	s.mu.Lock()
	s.loaded[m.display] = time.Now()
	s.mu.Unlock()
	return true
}

// sleep waits d; false when the client or the server gave up first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.done:
	}
	return false
}

// block holds a hung reply until the client or the server gives up, then
// drops the connection.
func (s *Server) block(ctx context.Context, w http.ResponseWriter) {
	select {
	case <-ctx.Done():
	case <-s.done:
	}
	s.abort(w)
}

// abort drops the connection of a request the server gives up on, so that
// returning from the handler does not send an empty 200.
func (s *Server) abort(w http.ResponseWriter) {
	s.cut(w, http.NewResponseController(w))
}

// replyFor picks the reply: the handler's, else the queue's head, else the
// fallback, else a 500 that says nothing was scripted.
func (s *Server) replyFor(req *api.ChatRequest) Reply {
	s.mu.Lock()
	h := s.handler
	if h == nil && len(s.queue) > 0 {
		r := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		return r
	}
	s.mu.Unlock()
	switch {
	case h != nil:
		return h(req)
	case s.cfg.fallback != nil:
		return *s.cfg.fallback
	}
	if s.tb != nil {
		s.tb.Logf("ollamatest: no reply scripted for a request to %q; answering 500", req.Model)
	}
	return Reply{Err: &HTTPError{Status: http.StatusInternalServerError, Message: "ollamatest: no reply scripted for this request"}}
}
