package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/amf-os/amf/sandbox"
)

// newRunner builds the execution backend a worker uses.
func newRunner(backend, stateDir string, log *slog.Logger) (sandbox.Runner, error) {
	cfg := sandbox.Config{StateDir: filepath.Join(stateDir, "sandbox"), Logger: log}
	switch backend {
	case "namespace", "":
		return sandbox.New(cfg)
	case "host":
		return sandbox.NewHost(cfg)
	}
	return nil, fmt.Errorf("unknown sandbox backend %q: use namespace, or host (unsafe, development only)", backend)
}
