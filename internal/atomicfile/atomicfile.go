// Package atomicfile writes files so that a reader, or a restart after a
// crash, sees either the old content or the new, never a part: keys,
// credentials, JWTs, indexes and exports are written through it.
//
// The shape is the usual one (tailscale's atomicfile, renameio): a temp
// file in the target's directory, written, synced, renamed over the
// target, then the directory synced so the rename itself is durable.
// Every step's error is returned; on any failure the temp file is removed
// and the target is left as it was.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes data to path atomically, with mode perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write calls fill with a writer on a temp file beside path and, when fill
// succeeds, puts the file in place of path atomically, with mode perm.
// An error from fill, or from any step after it, is returned and path is
// left untouched.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			// The temp file is ours alone; an error removing it would
			// hide the one that matters.
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	// CreateTemp makes 0600; the mode is set before any byte is written,
	// so a secret is never readable by others, even for a moment.
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: set mode: %w", path, err)
	}
	if err := fill(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if err := rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		// The new content is in place; only its durability across a
		// crash is in doubt, which the caller must still hear about.
		return fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	return nil
}

// rename is the package's one rename: the step that makes a write visible.
var rename = os.Rename

// syncDir flushes a directory's entries, so a rename survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	return errors.Join(serr, cerr)
}
