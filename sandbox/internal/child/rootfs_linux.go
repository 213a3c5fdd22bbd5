package child

import (
	"fmt"
	"os"
	"path"
	"strconv"

	"golang.org/x/sys/unix"
)

// newRootAt is where the fresh root is assembled inside the sandbox's own
// mount namespace before pivot_root; the host's /tmp is not touched.
const newRootAt = "/tmp"

// systemDirs are bound read-only from the host (or recreated as the
// symlinks they are on merged-/usr systems).
var systemDirs = []string{"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}

// devices are bound from the host /dev into a fresh tmpfs.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// setupRoot builds the sandbox's root file system and pivots into it.
// workPath, when set, is a host directory bound as /work now; otherwise
// the work dir is attached later from a detached mount (attachWork).
// dns, when set, is the only nameserver of the sandbox's resolv.conf.
// view says which root (minimal or the host's) and which /proc; it
// returns the detached workspace mount of a runner without root, or -1.
// rootFd, under view host, is the host root's overlay the runner made
// (-1: build the root from binds, as a runner without root must).
func setupRoot(tmp int64, workPath, dns string, view viewConfig, rootFd int) (int, error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return -1, fmt.Errorf("make mounts private: %w", err)
	}
	// Hold the work dir and the workspace before the new root hides the
	// host's /tmp.
	wsFd := -1
	if view.WorkspacePath != "" {
		fd, err := cloneWorkspace(view.WorkspacePath, view.WorkspaceRW)
		if err != nil {
			return -1, err
		}
		wsFd = fd
	}
	workFd := -1
	if workPath != "" {
		fd, err := unix.Open(workPath, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("open work dir: %w", err)
		}
		defer unix.Close(fd)
		workFd = fd
	}
	root := newRootAt
	if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=4m,mode=0755"); err != nil {
		return -1, fmt.Errorf("mount root tmpfs: %w", err)
	}
	if view.HostRoot {
		r, err := hostRoot(root, rootFd)
		if err != nil {
			return -1, err
		}
		root = r
	} else {
		for _, d := range systemDirs {
			if err := mirror("/"+d, path.Join(root, d)); err != nil {
				return -1, err
			}
		}
		if err := buildEtc(root, dns); err != nil {
			return -1, err
		}
	}
	if err := buildDev(root, tmp); err != nil {
		return -1, err
	}
	if view.HostPids {
		if err := bindHostProc(path.Join(root, "proc")); err != nil {
			return -1, err
		}
	} else if err := mkdirMount("proc", path.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return -1, err
	}
	tmpOpts := "mode=1777,size=" + strconv.FormatInt(tmp, 10)
	if err := mkdirMount("tmpfs", path.Join(root, "tmp"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpOpts); err != nil {
		return -1, err
	}
	work := path.Join(root, "work")
	if err := os.Mkdir(work, 0o755); err != nil && !(view.HostRoot && os.IsExist(err)) {
		return -1, fmt.Errorf("make /work: %w", err)
	}
	if workFd >= 0 {
		if err := bind(fmt.Sprintf("/proc/self/fd/%d", workFd), work, false); err != nil {
			return -1, fmt.Errorf("bind work dir: %w", err)
		}
	}
	if !view.HostRoot {
		for _, d := range []string{"root", "home", "var", "var/tmp", "run", "mnt"} {
			os.Mkdir(path.Join(root, d), 0o755)
		}
	}
	if err := pivot(root); err != nil {
		return -1, err
	}
	if view.HostRoot && dns != "" {
		// The host's resolver may be on its loopback, out of the
		// sandbox's reach: the sandbox's own one replaces it.
		if err := overlayFiles("/tmp/.amf-etc", 0o444, map[string][]byte{"/etc/resolv.conf": []byte("nameserver " + dns + "\n")}); err != nil {
			return -1, fmt.Errorf("resolv.conf: %w", err)
		}
	}
	return wsFd, nil
}

// mirror recreates a top-level system directory: a symlink stays a
// symlink, a directory becomes a read-only bind.
func mirror(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return nil
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		t, err := os.Readlink(src)
		if err != nil {
			return fmt.Errorf("read link %s: %w", src, err)
		}
		return os.Symlink(t, dst)
	}
	if !fi.IsDir() {
		return nil
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", dst, err)
	}
	return bind(src, dst, true)
}

// bind mounts src on dst and remounts it nosuid, nodev and, when ro,
// read-only, keeping the flags the kernel locks in a user namespace.
func bind(src, dst string, ro bool) error {
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dst, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dst, err)
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_NOSUID | unix.MS_NODEV)
	for _, f := range []struct{ st, ms int64 }{
		{unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if st.Flags&f.st != 0 {
			flags |= uintptr(f.ms)
		}
	}
	if ro {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount("", dst, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s: %w", dst, err)
	}
	return nil
}

func mkdirMount(src, dst, fstype string, flags uintptr, data string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", dst, err)
	}
	if err := unix.Mount(src, dst, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, dst, err)
	}
	return nil
}

func buildDev(root string, tmp int64) error {
	dev := path.Join(root, "dev")
	if err := mkdirMount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return err
	}
	for _, d := range devices {
		dst := path.Join(dev, d)
		if err := os.WriteFile(dst, nil, 0o666); err != nil {
			return fmt.Errorf("make /dev/%s: %w", d, err)
		}
		if err := unix.Mount("/dev/"+d, dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", d, err)
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, path.Join(dev, name)); err != nil {
			return fmt.Errorf("link /dev/%s: %w", name, err)
		}
	}
	shmOpts := "mode=1777,size=" + strconv.FormatInt(tmp, 10)
	return mkdirMount("tmpfs", path.Join(dev, "shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, shmOpts)
}

// pivot makes root the root and detaches the old one; /proc's kernel
// knobs are bound read-only over themselves.
func pivot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("enter new root: %w", err)
	}
	// pivot_root(".", ".") stacks the old root under the new one; a lazy
	// unmount of "." then removes it without needing a put_old dir.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("enter /: %w", err)
	}
	for _, p := range []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"} {
		if _, err := os.Stat(p); err == nil {
			if err := bind(p, p, true); err != nil {
				return err
			}
		}
	}
	// The host's boot arguments are no business of the command's.
	if err := unix.Mount("/dev/null", "/proc/cmdline", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mask /proc/cmdline: %w", err)
	}
	return nil
}

// attachWork mounts the detached work dir mount the parent sent on /work.
func attachWork(fd int) error {
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, workDirInside, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach work dir: %w", err)
	}
	if err := bind(workDirInside, workDirInside, false); err != nil {
		return fmt.Errorf("bind work dir: %w", err)
	}
	return nil
}

// sealRoot makes the root read-only once /work is in place.
func sealRoot() error {
	if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("make root read-only: %w", err)
	}
	return nil
}
