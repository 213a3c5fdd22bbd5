package main

import (
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/amf-os/amf/internal/clictx"
	"github.com/amf-os/amf/kernel"
)

// kernelContext is how a client on this host reaches the kernel just
// started: its client URL with a wildcard listen address made dialable,
// the admin credential ensureLocalCreds wrote, the CA of a TLS port.
func kernelContext(srv *kernel.Server, c *common, k *kernelFlags) clictx.Context {
	host, _ := os.Hostname()
	u, ca := dialableURL(srv.ClientURL()), ""
	if k.tls.cert != "" {
		u, ca = tlsDialURL(srv.ClientURL(), k.tls.cert), k.tls.cert
	}
	return clictx.Context{
		URL:   u,
		Creds: absPath(localCreds(c.stateDir)),
		// A client verifies the kernel against the kernel's own
		// certificate, pinned: whoever signed it, that is this kernel
		// (its --tls-ca is the CA of client certificates, another matter).
		CA:       absPath(ca),
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

// tlsDialURL makes a TLS kernel's URL verifiable from this host: when
// the kernel listens on every address, the host dialled is one its
// certificate names — a loopback address or localhost first, then its
// other addresses, then its names — since 127.0.0.1 is rarely among them.
func tlsDialURL(raw, certFile string) string {
	fallback := dialableURL(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return fallback
	}
	host, port, err := net.SplitHostPort(u.Host)
	if ip := net.ParseIP(host); err != nil || (host != "" && (ip == nil || !ip.IsUnspecified())) {
		return fallback // a specific address: the one to dial
	}
	b, err := os.ReadFile(certFile)
	if err != nil {
		return fallback
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return fallback
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fallback
	}
	var names []string
	for _, ip := range cert.IPAddresses {
		if ip.IsLoopback() {
			names = append(names, ip.String())
		}
	}
	if slices.Contains(cert.DNSNames, "localhost") {
		names = append(names, "localhost")
	}
	for _, ip := range cert.IPAddresses {
		if !ip.IsLoopback() {
			names = append(names, ip.String())
		}
	}
	names = append(names, cert.DNSNames...)
	if len(names) == 0 {
		return fallback
	}
	u.Host = net.JoinHostPort(names[0], port)
	return u.String()
}
