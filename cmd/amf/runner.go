package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/amf-os/amf/sandbox"
)

// newRunner builds the execution backend a worker uses.
func newRunner(backend, stateDir string, log *slog.Logger) (sandbox.Runner, error) {
	switch backend {
	case "namespace", "":
		return sandbox.New(sandbox.Config{StateDir: filepath.Join(stateDir, "sandbox"), Logger: log})
	case "host":
		return sandbox.NewHost(log), nil
	}
	return nil, fmt.Errorf("unknown sandbox backend %q: use namespace, or host (unsafe, development only)", backend)
}
