package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/internal/clictx"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
)

// Defaults of the configuration contract (README's Configuration table).
const (
	defaultNATSURL = "nats://127.0.0.1:4222"
	defaultOllama  = "http://127.0.0.1:11434"
)

// common holds the settings most subcommands share.
type common struct {
	stateDir string
	natsURL  string
	creds    string
	tls      tlsFlags
	prefix   string
	logLevel string
	logJSON  bool
	// contextFile is --context; kctx is the context resolveNATS chose,
	// nil when flags, environment or defaults say everything.
	contextFile string
	kctx        *clictx.Found
	resolved    bool
}

func (c *common) bindState(f flags) {
	f.str(&c.stateDir, "state-dir", "AMF_STATE_DIR", kernel.DefaultStateDir(), "JetStream store, memory index and sandbox roots")
}

func (c *common) bindNATS(f flags) {
	f.str(&c.natsURL, "nats", "AMF_NATS_URL", "", "where to reach the kernel (default: the one in the context `amf up`/`amf kernel` wrote, see `amf context`; else "+defaultNATSURL+")")
	f.str(&c.creds, "creds", "AMF_NATS_CREDS", "", "NATS credential (.creds file); default: the context's, else the admin credential `amf up` wrote in the local state dir")
	f.str(&c.contextFile, "context", "AMF_CONTEXT", "", "context file to follow instead of the one `amf context` finds")
	c.tls.bind(f, "CA that signed the kernel's certificate (default: the context's)")
}

func (c *common) bindLog(f flags) {
	f.str(&c.prefix, "prefix", "AMF_PREFIX", bus.DefaultPrefix, "subject prefix shared by every part of one installation")
	f.str(&c.logLevel, "log-level", "AMF_LOG_LEVEL", "info", "debug, info, warn or error")
	f.bool(&c.logJSON, "log-json", "AMF_LOG_JSON", false, "log as JSON lines")
}

func (c *common) names() bus.Names { return bus.Names{Prefix: c.prefix} }

// logger configures the one slog handler of the process.
func (c *common) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if c.logJSON {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	l := slog.New(h)
	slog.SetDefault(l)
	return l
}

// connect dials the kernel with reconnects forever: parts outlive kernel
// restarts. It is the one place the CLI dials: the credential and TLS
// settings apply to every part.
func (c *common) connect(name string) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		// A refused publish or subscription is the server enforcing a
		// role; callers that care explain it, the log keeps the rest.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			slog.Info("nats", "part", name, "err", err)
		}),
	}
	if err := c.resolveNATS(); err != nil {
		return nil, err
	}
	creds := c.credsFile()
	if creds != "" {
		credOpts, err := kernel.CredsOptions(creds)
		if err != nil {
			return nil, fmt.Errorf("credential %s (%s): %w; issue one with `amf auth creds`", creds, c.credsSource(), err)
		}
		opts = append(opts, credOpts...)
	}
	tlsOpts, err := c.tls.clientOptions()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(c.natsURL, append(opts, tlsOpts...)...)
	switch {
	case err == nil:
		return nc, nil
	case creds == "" && isAuthError(err):
		return nil, fmt.Errorf("the kernel at %s wants a credential: set --creds / AMF_NATS_CREDS to a .creds file from `amf auth creds`, or run where `amf up` keeps %s (%w)", c.natsURL, localCreds(c.localState()), err)
	case isAuthError(err):
		return nil, fmt.Errorf("the kernel at %s refused the credential %s (revoked, expired, or from another installation): %w", c.natsURL, creds, err)
	case c.kctx != nil && errors.Is(err, nats.ErrNoServers):
		return nil, staleContext(c.kctx, err)
	case c.kctx != nil:
		// Reachable but refused (TLS, say): the context is not stale,
		// but it is where the settings came from.
		return nil, fmt.Errorf("connect to the kernel at %s named by context %s: %w (a TLS kernel: --tls-ca, or --tls-cert and --tls-key when it requires client certificates)", c.natsURL, c.kctx.Path, err)
	}
	return nil, fmt.Errorf("connect to the kernel at %s: %w (is `amf kernel` or `amf up` running? set --nats / AMF_NATS_URL)", c.natsURL, err)
}

// credsFile is the credential to connect with: the one named, else the
// admin credential of a kernel started from the local state dir.
func (c *common) credsFile() string {
	if c.creds != "" {
		return c.creds
	}
	if c.kctx != nil && c.kctx.Creds != "" {
		return c.kctx.Creds
	}
	if p := localCreds(c.localState()); fileExists(p) {
		return p
	}
	return ""
}

func (c *common) localState() string {
	if c.stateDir != "" {
		return c.stateDir
	}
	return envOr("AMF_STATE_DIR", kernel.DefaultStateDir())
}

func isAuthError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked) ||
		strings.Contains(strings.ToLower(err.Error()), "authorization")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ollamaClient builds the Ollama client the way Ollama's own tools read
// OLLAMA_HOST: a bare host:port gets http:// and the default port.
func ollamaClient(host string) (*api.Client, string, error) {
	raw := strings.TrimSpace(host)
	if raw == "" {
		raw = defaultOllama
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, "", fmt.Errorf("OLLAMA_HOST %q is not an address such as http://127.0.0.1:11434", host)
	}
	if u.Port() == "" {
		u.Host += ":11434"
	}
	return api.NewClient(u, http.DefaultClient), u.String(), nil
}

// drain flushes what the connection still has to send, unsubscribes, and
// waits (bounded) until it is closed, so the kernel shuts down after the
// parts that use it, never under them.
func drain(nc *nats.Conn) {
	// A drain needs a server that answers: one that does not (its host
	// is gone, the connection not yet known dead) would hold the exit
	// for the whole timeout below.
	if !nc.IsConnected() || nc.FlushTimeout(2*time.Second) != nil {
		nc.Close()
		return
	}
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		nc.Close()
	}
}

// whileConnected ends ctx when the server closes nc for good (a revoked or
// expired credential), so that a part exits with the reason instead of
// looking alive and doing nothing; connectionLost then returns it.
func whileConnected(ctx context.Context, nc *nats.Conn) (context.Context, func()) {
	ctx, lost := context.WithCancelCause(ctx)
	nc.SetClosedHandler(func(nc *nats.Conn) {
		lost(fmt.Errorf("%w: %v", errConnLost, nc.LastError()))
	})
	return ctx, func() { lost(nil) }
}

var errConnLost = errors.New("the kernel closed the connection")

func connectionLost(ctx context.Context) error {
	if cause := context.Cause(ctx); errors.Is(cause, errConnLost) {
		return cause
	}
	return nil
}
