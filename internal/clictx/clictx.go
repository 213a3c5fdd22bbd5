// Package clictx is where the amf command line finds its kernel: a small
// JSON file, the context, that `amf up` and `amf kernel` write when they
// start (the URL they listen on, the admin credential they wrote, the CA
// of a TLS port, the HTTP address and its token) and that every client
// command reads when no flag or environment variable names a kernel — as
// the nats CLI's contexts and kubectl's kubeconfig do. Without it a kernel
// on another port is reachable only by repeating its URL to every command.
//
// Precedence, field by field, is flag > environment > context > default;
// the context fills in nothing when a flag or variable names another URL,
// since its credential and CA belong to the kernel it names.
package clictx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/amf-os/amf/internal/atomicfile"
)

// FileName is the context's name, in a state dir and in the user's
// configuration dir alike.
const FileName = "context.json"

// EnvFile names a context file to use instead of the ones Find looks for.
const EnvFile = "AMF_CONTEXT"

// ErrNoContext is returned by Read for a file that does not exist.
var ErrNoContext = errors.New("no context file")

// Context is how to reach one kernel. Paths are absolute, so the file
// works from any directory.
type Context struct {
	// URL is the kernel's client URL, dialable from this host.
	URL string `json:"url"`
	// Creds is the NATS credential to connect with.
	Creds string `json:"creds,omitempty"`
	// CA is the CA that signed the kernel's certificate, for a TLS port.
	CA string `json:"ca,omitempty"`
	// HTTP is the bridge's address (host:port), when `amf up` serves one.
	HTTP string `json:"http,omitempty"`
	// TokenFile holds the HTTP admin token `amf up` wrote.
	TokenFile string `json:"token_file,omitempty"`
	// StateDir is the kernel's state dir.
	StateDir string `json:"state_dir,omitempty"`
	// PID and Host say which process wrote it, so that a context whose
	// kernel is gone can say so.
	PID  int    `json:"pid,omitempty"`
	Host string `json:"host,omitempty"`
	// Written is when the kernel wrote it.
	Written time.Time `json:"written"`
}

// StatePath is the context a kernel keeps in its state dir.
func StatePath(stateDir string) string { return filepath.Join(stateDir, FileName) }

// UserPath is the context the user chose with `amf context use`:
// $XDG_CONFIG_HOME/amf/context.json (~/.config/amf/context.json).
func UserPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("user configuration dir: %w", err)
	}
	return filepath.Join(dir, "amf", FileName), nil
}

// Write puts c at path atomically, readable by its owner only: it names
// a credential.
func Write(path string, c Context) error {
	if c.URL == "" {
		return fmt.Errorf("write context %s: no URL", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write context: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("write context: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write context: %w", err)
	}
	return nil
}

// Read reads the context at path; a missing file is ErrNoContext, a file
// that is not a context says what is wrong and how to fix it.
func Read(path string) (Context, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Context{}, fmt.Errorf("%s: %w", path, ErrNoContext)
	}
	if err != nil {
		return Context{}, fmt.Errorf("read context: %w", err)
	}
	var c Context
	if err := json.Unmarshal(b, &c); err != nil {
		return Context{}, fmt.Errorf("context %s is not JSON (%w); delete it, or write it again with `amf context use`", path, err)
	}
	if strings.TrimSpace(c.URL) == "" {
		return Context{}, fmt.Errorf("context %s names no kernel (no \"url\"); delete it, or write it again with `amf context use`", path)
	}
	return c, nil
}
