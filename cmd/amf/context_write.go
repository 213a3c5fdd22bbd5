package main

import (
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/amf-os/amf/internal/clictx"
	"github.com/amf-os/amf/kernel"
)

// kernelContext is how a client on this host reaches the kernel just
// started: its client URL with a wildcard listen address made dialable,
// the admin credential ensureLocalCreds wrote, the CA of a TLS port.
func kernelContext(srv *kernel.Server, c *common, k *kernelFlags) clictx.Context {
	host, _ := os.Hostname()
	return clictx.Context{
		URL:      dialableURL(srv.ClientURL()),
		Creds:    absPath(localCreds(c.stateDir)),
		CA:       absPath(k.tls.ca),
		StateDir: absPath(c.stateDir),
		PID:      os.Getpid(),
		Host:     host,
		Written:  time.Now().UTC().Truncate(time.Second),
	}
}

// writeContext writes the kernel's context in its state dir, where every
// client command on this host that is not told otherwise finds it.
func (l *local) writeContext() error {
	path := clictx.StatePath(l.kctx.StateDir)
	if err := clictx.Write(path, l.kctx); err != nil {
		return err
	}
	slog.Info("wrote the CLI context; amf run, amf tasks and friends on this machine follow it", "context", path, "nats", l.kctx.URL)
	return nil
}

// dialableURL turns a listen-on-every-address URL (nats://0.0.0.0:4222)
// into one a client on this host can dial.
func dialableURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return raw
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		u.Host = net.JoinHostPort("127.0.0.1", port)
	}
	return u.String()
}

func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
