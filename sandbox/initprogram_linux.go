package sandbox

import (
	"errors"
	"fmt"

	"github.com/amf-os/amf/sandbox/internal/initimage"
)

// selfExe is this binary: every program that imports this package has
// the sandbox's roles (package child), so it can start as the spawner
// and as inits where the embedded program cannot.
const selfExe = "/proc/self/exe"

// startSpawning starts the spawner and one init with it, so a host that
// cannot make the namespaces fails here rather than at the first
// command. Both are started from the embedded sandbox program (package
// initimage), which starts in a fraction of this binary's time; where
// none is built, a memory file cannot be made or executed, or it cannot
// start an init, they are started from this binary (selfInit: at once).
func (n *NamespaceRunner) startSpawning(selfInit bool) (*initProc, error) {
	if selfInit {
		return n.startSpawningFrom(selfExe)
	}
	path, err := initimage.Path()
	if err == nil {
		var probe *initProc
		if probe, err = n.startSpawningFrom(path); err == nil {
			return probe, nil
		}
	}
	probe, selfErr := n.startSpawningFrom(selfExe)
	if selfErr != nil {
		return nil, errors.Join(fmt.Errorf("the sandbox's program: %w", err), fmt.Errorf("this binary: %w", selfErr))
	}
	n.log.Warn("sandbox: inits start from this binary, which costs more per command than the sandbox's own program", "err", err)
	return probe, nil
}

func (n *NamespaceRunner) startSpawningFrom(path string) (*initProc, error) {
	s, err := startSpawner(path)
	if err != nil {
		return nil, err
	}
	n.spawner = s
	probe, err := n.spawn(false, "", viewConfig{})
	if err != nil {
		s.close()
		n.spawner = nil
		return nil, fmt.Errorf("start an init: %w", err)
	}
	return probe, nil
}
