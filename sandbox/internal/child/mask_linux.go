package child

import (
	"fmt"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// overlayFiles binds fresh read-only files holding each body, with mode,
// over its dst (which must exist), from a scratch tmpfs that is gone
// again afterwards, so nothing of it shows but the file itself.
func overlayFiles(scratch string, mode os.FileMode, files map[string][]byte) error {
	if len(files) == 0 {
		return nil
	}
	if err := mkdirMount("tmpfs", scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,size=1m"); err != nil {
		return err
	}
	defer os.Remove(scratch)
	defer unix.Unmount(scratch, unix.MNT_DETACH)
	i := 0
	for dst, body := range files {
		src := path.Join(scratch, fmt.Sprint(i))
		i++
		if err := os.WriteFile(src, body, mode); err != nil {
			return fmt.Errorf("write %s: %w", src, err)
		}
		if err := bind(src, dst, true); err != nil {
			return err
		}
	}
	return nil
}

// applyMasks hides every path matching the patterns, as the sandbox's
// root shows it (after the pivot, workspaces attached): a directory
// becomes an empty read-only tmpfs, any other file an empty read-only
// file. A match that is a symlink is not followed here: the runner,
// which sees the host's owners, adds the targets a link may hide (a state
// dir or a key reached through a link is as secret as the link's name
// says; /usr behind a user's ~/.ssh is not). Missing paths are nothing
// to hide.
func applyMasks(patterns []string) error {
	files := map[string][]byte{}
	masked := map[string]bool{}
	for _, pat := range patterns {
		matches := glob(pat)
		for len(matches) > 0 {
			m := matches[0]
			matches = matches[1:]
			if masked[m] {
				continue
			}
			masked[m] = true
			fi, err := os.Lstat(m)
			if err != nil {
				continue
			}
			if fi.Mode()&os.ModeSymlink != 0 {
				continue
			}
			if fi.IsDir() {
				if err := unix.Mount("tmpfs", m, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=4k,nr_inodes=1"); err != nil {
					return fmt.Errorf("mask %s: %w", m, err)
				}
				continue
			}
			files[m] = nil
		}
	}
	if err := overlayFiles("/tmp/.amf-mask", 0o444, files); err != nil {
		return fmt.Errorf("mask files: %w", err)
	}
	return nil
}
