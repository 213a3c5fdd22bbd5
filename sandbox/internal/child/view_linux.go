package child

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// envView carries an init's viewConfig (JSON); absent means the minimal
// view, the one warm inits are built with.
const envView = "AMF_SANDBOX_VIEW"

// viewConfig is the part of what a command sees that is fixed when its
// init builds the root, before the task is known.
type viewConfig struct {
	// HostRoot: the host's root, read-only, instead of the minimal one.
	HostRoot bool `json:"host_root,omitempty"`
	// HostPids: /proc is the host's procfs. A root runner starts the
	// init in the host's pid namespace, as a host uid of its own; a
	// runner without root keeps a pid namespace of its own, where kill,
	// ptrace and pidfds cannot name a host process, and ps's BSD forms,
	// which find themselves by pid, fail.
	HostPids bool `json:"host_pids,omitempty"`
	// Hostname replaces the sandbox's host name (the worker's, under
	// view host).
	Hostname string `json:"hostname,omitempty"`
	// WorkspacePath, for runners without root only: the host directory
	// the init clones before the pivot (root runners send an id-mapped
	// mount with the task instead), read-only unless WorkspaceRW.
	WorkspacePath string `json:"workspace_path,omitempty"`
	WorkspaceRW   bool   `json:"workspace_rw,omitempty"`
	// RootFromTask: the host root comes with the task (a root runner's
	// overlay, see hostRootMount), so the init builds its root only then.
	RootFromTask bool `json:"root_from_task,omitempty"`
}

func readViewConfig() (viewConfig, error) {
	var v viewConfig
	s := os.Getenv(envView)
	if s == "" {
		return v, nil
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return v, fmt.Errorf("decode view: %w", err)
	}
	return v, nil
}

// hostOwn are the top-level directories of a host view the sandbox makes
// its own: no host mount beneath them is taken.
var hostOwn = []string{"proc", "dev", "tmp", "work", "run"}

// hostRoot builds the host's root under scratch (a tmpfs) and returns
// where: an overlay whose upper layer is the host's root file system,
// read-only, above a layer holding only the sandbox's own mount points
// (/work), so the root's statfs is the host's (df / answers about the
// host's disk); then every host mount beneath it, recursively,
// read-only, nosuid and nodev, except under hostOwn, and /run emptied.
//
// Only a runner outside the sandbox's user namespace can make that
// overlay (inside, the host's mounts are locked to their children); it
// sends it as rootFd. Without it (rootFd < 0) the root is a tmpfs with
// the host's top-level directories bound in, and df / shows that tmpfs.
func hostRoot(scratch string, rootFd int) (string, error) {
	root := path.Join(scratch, "r")
	if err := os.Mkdir(root, 0o755); err != nil {
		return "", fmt.Errorf("make %s: %w", root, err)
	}
	if rootFd < 0 {
		// pivot_root wants a mount point.
		if err := unix.Mount(root, root, "", unix.MS_BIND, ""); err != nil {
			return "", fmt.Errorf("bind %s: %w", root, err)
		}
		return root, mirrorHost(root)
	}
	if err := unix.MoveMount(rootFd, "", unix.AT_FDCWD, root, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return "", fmt.Errorf("attach host root: %w", err)
	}
	mounts, err := rootChildren()
	if err != nil {
		return "", err
	}
	for _, m := range mounts {
		top := strings.SplitN(strings.TrimPrefix(m, "/"), "/", 2)[0]
		if slices.Contains(hostOwn, top) {
			continue
		}
		if err := bindTreeRO(m, path.Join(root, m)); err != nil {
			return "", err
		}
	}
	return root, hostRun(root)
}

// rootChildren lists the mount points of the mounts directly beneath
// the root mount (their own children come with a recursive bind).
func rootChildren() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	type mnt struct{ id, parent, point string }
	var all []mnt
	rootID := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		m := mnt{id: f[0], parent: f[1], point: unescapeMount(f[4])}
		if m.point == "/" {
			rootID = m.id // the last mount on / is the one seen
		}
		all = append(all, m)
	}
	var out []string
	for _, m := range all {
		if m.parent == rootID && m.point != "/" {
			out = append(out, m.point)
		}
	}
	return out, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mirrorHost fills root (a tmpfs) with the host's top-level entries:
// directories as recursive read-only binds, symlinks as they are.
func mirrorHost(root string) error {
	ents, err := os.ReadDir("/")
	if err != nil {
		return fmt.Errorf("read host root: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		src, dst := "/"+name, path.Join(root, name)
		fi, err := os.Lstat(src)
		if err != nil {
			continue
		}
		switch {
		case slices.Contains(hostOwn, name):
			os.Mkdir(dst, 0o755)
		case fi.Mode()&os.ModeSymlink != 0:
			if t, err := os.Readlink(src); err == nil {
				os.Symlink(t, dst)
			}
		case fi.IsDir():
			if err := os.Mkdir(dst, 0o755); err != nil {
				return fmt.Errorf("make %s: %w", dst, err)
			}
			if err := bindTreeRO(src, dst); err != nil {
				return err
			}
		}
	}
	for _, d := range hostOwn {
		os.Mkdir(path.Join(root, d), 0o755)
	}
	return hostRun(root)
}

// bindTreeRO binds src and every mount beneath it on dst, all read-only,
// nosuid and nodev.
func bindTreeRO(src, dst string) error {
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(unix.AT_FDCWD, dst, unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("make %s read-only: %w", dst, err)
	}
	return nil
}

// hostRun gives a host view an empty /run, so the host's daemons' sockets
// (D-Bus, container engines, init) are out of reach, with back only what
// ordinary tools read there: utmp (who, uptime) and the resolver's
// directory (/etc/resolv.conf often links there).
func hostRun(root string) error {
	run := path.Join(root, "run")
	if err := mkdirMount("tmpfs", run, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return err
	}
	for _, keep := range []string{"utmp", "systemd/resolve"} {
		src := "/run/" + keep
		fi, err := os.Stat(src)
		if err != nil {
			continue
		}
		dst := path.Join(run, keep)
		if fi.IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return fmt.Errorf("make %s: %w", dst, err)
			}
			if err := bindTreeRO(src, dst); err != nil {
				return err
			}
			continue
		}
		os.MkdirAll(path.Dir(dst), 0o755)
		if err := os.WriteFile(dst, nil, 0o644); err != nil {
			return fmt.Errorf("make %s: %w", dst, err)
		}
		if err := bind(src, dst, true); err != nil {
			return err
		}
	}
	return nil
}

// bindHostProc binds the host's procfs (the init's /proc before the
// pivot) on dst; see viewConfig.HostPids.
func bindHostProc(dst string) error {
	if err := os.MkdirAll(dst, 0o555); err != nil {
		return fmt.Errorf("make %s: %w", dst, err)
	}
	if err := unix.Mount("/proc", dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind host /proc: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC}
	if err := unix.MountSetattr(unix.AT_FDCWD, dst, unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("restrict host /proc: %w", err)
	}
	return nil
}
