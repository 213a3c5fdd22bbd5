package main

import (
	"path/filepath"

	"github.com/amf-os/amf/sandbox"
)

// secretFiles are the files this process authenticates with that its
// state dir need not hold: the NATS credential and the TLS client key,
// wherever the flags, the environment or the context put them (a
// worker's credential in /etc/amf, say). Commands that see the host see
// none of them, whatever their permissions.
func (c *common) secretFiles() []string {
	var out []string
	for _, p := range []string{c.credsFile(), c.tls.key} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// masksOf are the sandbox masks hiding paths: each absolute (a mask is
// matched against absolute paths), with the characters a mask reads as
// a pattern escaped and a byte that is not UTF-8 matched by '?'. A
// symbolic link among them hides its target too (the sandbox follows a
// mask's link that root made).
func masksOf(paths ...string) []string {
	var out []string
	for _, p := range paths {
		if abs, err := filepath.Abs(p); p != "" && err == nil {
			out = append(out, sandbox.EscapeGlob(abs))
		}
	}
	return out
}
