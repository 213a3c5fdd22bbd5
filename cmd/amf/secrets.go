package main

import (
	"path/filepath"
	"strings"
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
// a pattern escaped. A symbolic link among them hides its target too
// (the sandbox follows a mask's link that root made).
func masksOf(paths ...string) []string {
	var out []string
	for _, p := range paths {
		if abs, err := filepath.Abs(p); p != "" && err == nil {
			out = append(out, escapeGlob(abs))
		}
	}
	return out
}

// escapeGlob makes p a pattern (filepath.Match) that matches p alone.
func escapeGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
