package child

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// attachWorkspace mounts a detached workspace mount at its host path,
// making the mount point where it is missing (in the sandbox's own
// tmpfs parts: /tmp, the minimal root).
func attachWorkspace(fd int, at string) error {
	if _, err := os.Stat(at); err != nil {
		if err := os.MkdirAll(at, 0o755); err != nil {
			return fmt.Errorf("make workspace mount point %s: %w", at, err)
		}
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, at, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach workspace at %s: %w", at, err)
	}
	return nil
}

// cloneWorkspace makes a detached copy of a host directory's mount,
// nosuid and nodev, read-only unless rw: how a runner without root
// hands a workspace to its init.
func cloneWorkspace(path string, rw bool) (int, error) {
	dir, _, err := openWorkspaceDir(path)
	if err != nil {
		return -1, err
	}
	defer unix.Close(dir)
	fd, err := unix.OpenTree(dir, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return -1, fmt.Errorf("clone workspace %s: %w", path, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if !rw {
		attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
	}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("restrict workspace %s: %w", path, err)
	}
	return fd, nil
}

// openWorkspaceDir opens a declared workspace by its path without
// following a symlink anywhere on it: a command in another writable
// directory could have swapped a component for a link to a masked or
// host directory, and the runner, not the command, would then mount
// what the link names. It returns an O_PATH descriptor of the directory
// and its owner and mode as that descriptor sees them.
func openWorkspaceDir(path string) (int, unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := unix.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return -1, st, fmt.Errorf("open workspace %s (symlinks are not followed): %w", path, err)
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, st, fmt.Errorf("stat workspace %s: %w", path, err)
	}
	return fd, st, nil
}
