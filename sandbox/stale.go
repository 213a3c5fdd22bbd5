package sandbox

import (
	"os"
	"path/filepath"
)

// RemoveStaleWorkDirs removes every work dir under root: those left by a
// worker that stopped (or by a version that kept work dirs on the host's
// disk, setuid files and links to host secrets included). A work dir's
// files live in its runner's own file system, so a host directory holds
// nothing a running command needs. It returns how many it removed.
func RemoveStaleWorkDirs(root string) (int, error) {
	ents, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
