package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/amf-os/amf/sandbox/policy"
)

// hostRootMount makes, outside the sandbox, the host root a view host
// command sees: a read-only overlay of the host's root file system above
// a small tmpfs holding the sandbox's own mount points (hostOwn), as a
// detached mount. An overlay because its statfs is its top layer's, the
// host's root, so df / answers about the host's disk; the tmpfs because
// a lower layer on the host's root itself would overlap it.
func hostRootMount() (int, error) {
	tfs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("host root: %w", err)
	}
	defer unix.Close(tfs)
	for k, v := range map[string]string{"mode": "0755", "size": "64k"} {
		if err := unix.FsconfigSetString(tfs, k, v); err != nil {
			return -1, fmt.Errorf("host root: tmpfs %s: %w", k, err)
		}
	}
	if err := unix.FsconfigCreate(tfs); err != nil {
		return -1, fmt.Errorf("host root: tmpfs: %w", err)
	}
	tm, err := unix.Fsmount(tfs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return -1, fmt.Errorf("host root: mount tmpfs: %w", err)
	}
	defer unix.Close(tm)
	for _, d := range hostOwn {
		if err := unix.Mkdirat(tm, d, 0o755); err != nil {
			return -1, fmt.Errorf("host root: make %s: %w", d, err)
		}
	}
	ofs, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("host root: %w", err)
	}
	defer unix.Close(ofs)
	if err := unix.FsconfigSetString(ofs, "lowerdir+", "/"); err != nil {
		return -1, fmt.Errorf("host root: overlay lower /: %w", err)
	}
	if err := unix.FsconfigSetFd(ofs, "lowerdir+", tm); err != nil {
		return -1, fmt.Errorf("host root: overlay lower tmpfs: %w", err)
	}
	if err := unix.FsconfigCreate(ofs); err != nil {
		return -1, fmt.Errorf("host root: overlay: %w", err)
	}
	om, err := unix.Fsmount(ofs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return -1, fmt.Errorf("host root: mount overlay: %w", err)
	}
	return om, nil
}

// viewFor fills in what a command under p in ws sees: the init's view
// (returned) and the task's masks, workspace and working directory.
func (n *NamespaceRunner) viewFor(p *Profile, ws *Workspace, task *taskConfig) viewConfig {
	var v viewConfig
	v.HostRoot, v.HostPids = p.HostView(), p.HostPids()
	if v.HostRoot {
		v.Hostname = n.hostname()
		v.RootFromTask = n.root
	}
	if ws != nil {
		task.Workspace, task.Dir = ws.Path, ws.Path
		if !n.root {
			v.WorkspacePath, v.WorkspaceRW = ws.Path, ws.Writable()
		}
	}
	if v.HostRoot || ws != nil {
		task.Masks = withHostMatches(n.scopeFor(p, ws).Masked)
	}
	return v
}

// Offer says what the runner serves; see Offer. Without root it serves
// no pids: host profile (errHostPidsUnprivileged), so a task naming one
// is refused at submission, not by every worker that takes it.
func (n *NamespaceRunner) Offer() Offer {
	o := n.offer(n.Name())
	if n.root {
		return o
	}
	for _, name := range n.policy.Names() {
		p, _ := n.policy.Profile(name)
		if _, ok := o.Unsupported[name]; !ok && p != nil && p.HostPids() && (p.Backend == "" || p.Backend == n.Name()) {
			o.Unsupported[name] = errHostPidsUnprivileged(name).Error()
		}
	}
	return o
}

// Offer says what the runner serves; see Offer.
func (m *MicroVMRunner) Offer() Offer { return m.offer(m.Name()) }

// workspaceIDs are the sandbox ids a command in ws runs as: its owner's
// (see idmaps.runAs).
func (n *NamespaceRunner) workspaceIDs(ws *Workspace) (int, int) {
	fi, err := os.Stat(ws.Path)
	if err != nil {
		return sandboxUID, sandboxUID
	}
	return n.idmaps.runAs(ownerOf(fi))
}

// withHostMatches adds to the mask patterns what their wildcards match
// on the host, globbed here, as root, before the command's user is
// known: the init globs as a user the host does not know, which cannot
// list a directory it may only enter (mode 0711), while a command that
// knows a file's name opens it there all the same. The init masks the
// literal matches by name, which needs no listing.
//
// A match that is a symlink hides what it names only when whoever made
// the link could hide that: root, or the owner of the target (the rule
// the kernel applies to links in sticky directories). The init follows
// no link itself, since any user may point a name of the mask list in
// their home at /usr or /etc; it learns the targets from here, where
// owners are the host's.
func withHostMatches(patterns []string) []string {
	out := append([]string(nil), patterns...)
	for _, p := range patterns {
		matches, _ := filepath.Glob(p)
		for _, m := range matches {
			if hasMeta(p) {
				// Each match is a path, sent as a pattern matching only it.
				out = append(out, policy.EscapeGlob(m))
			}
			if target, ok := followedLink(m); ok {
				out = append(out, policy.EscapeGlob(target))
			}
		}
	}
	return out
}

// followedLink is what the symlink at p names, when p is one whose maker
// may hide it.
func followedLink(p string) (string, bool) {
	fi, err := os.Lstat(p)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return "", false
	}
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", false
	}
	tfi, err := os.Stat(target)
	if err != nil {
		return "", false
	}
	link, to := fi.Sys().(*syscall.Stat_t), tfi.Sys().(*syscall.Stat_t)
	if link.Uid != 0 && link.Uid != to.Uid {
		return "", false
	}
	return target, true
}

func hasMeta(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*', '?', '[', '\\':
			return true
		}
	}
	return false
}
