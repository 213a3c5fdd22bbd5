package sandbox

import (
	"fmt"
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// An id-mapped mount needs a user namespace that says how to map; a
// process is started in a new one with that mapping only to open it, the
// way the kernel wants (a multi-threaded process cannot unshare one): this
// binary, re-executed as idmapArg0, which package child holds until its
// stdin closes.

// idmaps caches, per workspace owner, the user namespace whose mapping
// makes the command's user that owner on an id-mapped mount: the owner's
// on-disk uid and gid show as the command's, and what the command
// creates is stored as the owner's.
type idmaps struct {
	idBase    int // the host id sandbox id 0 maps to
	sandboxID int // sandbox id of the default command user
	mu        sync.Mutex
	fds       map[[4]int]int
}

func newIdmaps(idBase, sandboxID int) *idmaps {
	return &idmaps{idBase: idBase, sandboxID: sandboxID, fds: map[[4]int]int{}}
}

// runAs is the sandbox uid and gid a command in a workspace owned by
// uid:gid runs as: the owner's own ids, so `id`, `ls -l` and the host's
// user names agree with the host, unless they are root's or beyond the
// sandbox's 65536 ids (then the default sandbox user).
func (m *idmaps) runAs(uid, gid int) (int, int) {
	if uid <= 0 || gid <= 0 || uid >= 65536 || gid >= 65536 {
		return m.sandboxID, m.sandboxID
	}
	return uid, gid
}

// userns returns a descriptor of the namespace mapping uid/gid to the
// sandbox's user; the cache owns it.
func (m *idmaps) userns(uid, gid int) (int, error) {
	ruid, rgid := m.runAs(uid, gid)
	return m.mapping(uid, gid, m.idBase+ruid, m.idBase+rgid)
}

// mapping returns a descriptor of a namespace mapping the on-disk
// uid and gid to the host's hostUID and hostGID; the cache owns it.
func (m *idmaps) mapping(uid, gid, hostUID, hostGID int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := [4]int{uid, gid, hostUID, hostGID}
	if fd, ok := m.fds[key]; ok {
		return fd, nil
	}
	cmd := exec.Command(selfExe)
	cmd.Args = []string{idmapArg0}
	cmd.Env = []string{idmapEnv + "=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: hostUID, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: hostGID, Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return -1, fmt.Errorf("id map: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("id map: start namespace holder: %w", err)
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	stdin.Close()
	cmd.Wait()
	if err != nil {
		return -1, fmt.Errorf("id map: open namespace: %w", err)
	}
	m.fds[key] = fd
	return fd, nil
}

func (m *idmaps) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, fd := range m.fds {
		unix.Close(fd)
		delete(m.fds, k)
	}
}

// mount makes a detached mount of the workspace for one command: nosuid,
// nodev, read-only unless rw, and id-mapped so the sandbox's user acts as
// the directory's owner. A file system without id-mapped mounts serves a
// read-only workspace as it is; a writable one is refused, since files
// would land owned by an id nobody on the host has.
//
// hostUID, when not 0, is the host uid the command runs as (pids: host,
// see hostUIDs); the owner's files show as the command's all the same.
func (m *idmaps) mount(w *Workspace, hostUID uint32) (int, error) {
	dir, st, err := openWorkspaceDir(w.Path)
	if err != nil {
		return -1, fmt.Errorf("%w: workspace %q: %v", ErrStart, w.Name, err)
	}
	defer unix.Close(dir)
	var ns int
	if hostUID != 0 {
		_, rgid := m.runAs(int(st.Uid), int(st.Gid))
		ns, err = m.mapping(int(st.Uid), int(st.Gid), int(hostUID), m.idBase+rgid)
	} else {
		ns, err = m.userns(int(st.Uid), int(st.Gid))
	}
	if err != nil {
		return -1, fmt.Errorf("%w: workspace %q: %v", ErrStart, w.Name, err)
	}
	fd, err := unix.OpenTree(dir, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return -1, fmt.Errorf("%w: workspace %q: clone %s: %v", ErrStart, w.Name, w.Path, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if !w.Writable() {
		attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
	}
	idm := attr
	idm.Attr_set |= unix.MOUNT_ATTR_IDMAP
	idm.Userns_fd = uint64(ns)
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &idm); err != nil {
		if w.Writable() {
			unix.Close(fd)
			return -1, fmt.Errorf("%w: workspace %q: %s is on a file system without id-mapped mounts (%v), so files written there would not belong to its owner: declare it :ro or move it to ext4, xfs, btrfs or tmpfs", ErrStart, w.Name, w.Path, err)
		}
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("%w: workspace %q: restrict mount: %v", ErrStart, w.Name, err)
		}
	}
	return fd, nil
}

// remapWork makes a detached clone of a work dir mount, owned on disk by
// the sandbox's default user (idBase+sandboxID), show as owned by
// hostUID: the host uid a pids: host command runs as (see hostUIDs).
func (m *idmaps) remapWork(fd int, hostUID uint32) error {
	disk := m.idBase + m.sandboxID
	ns, err := m.mapping(disk, disk, int(hostUID), disk)
	if err != nil {
		return fmt.Errorf("%w: work dir: %v", ErrStart, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns)}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return fmt.Errorf("%w: work dir: id-map for uid %d: %v", ErrStart, hostUID, err)
	}
	return nil
}
