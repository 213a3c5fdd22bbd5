package kernel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNoAuthority means a directory holds no installation's keys where a
// command expected to find them.
var ErrNoAuthority = errors.New("no installation keys")

// FindAuthority opens the keys in dir, refusing when there are none: a
// credential signed by keys made on the spot is one no running kernel
// accepts. OpenAuthority is what creates them (amf auth init, or a
// kernel's first start).
func FindAuthority(dir string) (*Authority, error) {
	if _, err := os.Stat(filepath.Join(dir, operatorSeedFile)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s: point at the kernel's with --state-dir or --auth-dir (AMF_STATE_DIR, AMF_AUTH_DIR), or make new ones with `amf auth init --auth-dir %s` (or --init)", ErrNoAuthority, dir, dir)
		}
		return nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	return OpenAuthority(dir)
}
