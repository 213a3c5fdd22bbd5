package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/amf-os/amf/sandbox/internal/child"
	"golang.org/x/sys/unix"
)

// etcTemplate is the /etc of the minimal view, the same for every
// command, filled once by the runner into a small file system of its own
// and handed to each init as a read-only mount of it (see
// child.EtcEntries): filling it in every init cost ~1.9 ms of CPU per
// command, some twenty files read from the host and written into the
// sandbox's root.
//
// The file system is a detached tmpfs, like a work dir's: no path of the
// host leads to it, and none shows in a command's mountinfo. The runner
// reads the host's /etc with the rights the init has there (its host
// ids, no supplementary group, no capability), so a template holds
// nothing a command could not have read; its files are owned by the ids
// that are root in the sandbox, as the files an init writes are. When
// the host's /etc changes, the next init gets a new generation; the
// earlier one lives on in the commands that attached copies of it.
type etcTemplate struct {
	src      string // the host's /etc
	uid, gid int    // the host ids that are root in the sandbox

	mu      sync.Mutex
	fd      int // the current generation's mount, -1 before the first
	entries []child.EtcEntry
	checked time.Time
	closed  bool
}

// etcRecheck is how often the host's /etc is read again for changes.
const etcRecheck = 2 * time.Second

func newEtcTemplate(src string, uid, gid int) (*etcTemplate, error) {
	t := &etcTemplate{src: src, uid: uid, gid: gid, fd: -1}
	t.mu.Lock()
	_, err := t.current()
	t.mu.Unlock()
	if err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// current returns the mount of the template that matches the host's
// /etc as last read, replacing an older one. Called with mu held; the
// descriptor is valid while it is.
func (t *etcTemplate) current() (int, error) {
	if t.closed {
		return -1, errors.New("etc template: runner closed")
	}
	if t.fd >= 0 && time.Since(t.checked) < etcRecheck {
		return t.fd, nil
	}
	entries, err := t.read()
	if err != nil {
		return -1, err
	}
	t.checked = time.Now()
	if t.fd >= 0 && reflect.DeepEqual(entries, t.entries) {
		return t.fd, nil
	}
	fd, err := t.write(entries)
	if err != nil {
		return -1, err
	}
	if t.fd >= 0 {
		// The copies inits attached keep its file system.
		unix.Close(t.fd)
	}
	t.fd, t.entries = fd, entries
	return fd, nil
}

// mount returns a detached copy of the current template's mount,
// read-only, nosuid and nodev, for one init to attach. The caller
// closes it.
func (t *etcTemplate) mount() (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fd, err := t.current()
	if err != nil {
		return -1, err
	}
	m, err := unix.OpenTree(fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return -1, fmt.Errorf("etc template: clone mount: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(m, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(m)
		return -1, fmt.Errorf("etc template: make read-only: %w", err)
	}
	return m, nil
}

// read reads the host's /etc with the init's rights.
func (t *etcTemplate) read() ([]child.EtcEntry, error) {
	var entries []child.EtcEntry
	err := asHostIDs(t.uid, t.gid, func() { entries = child.EtcEntries(t.src) })
	return entries, err
}

// write makes a generation of the template: a detached tmpfs, nosuid
// and nodev, filled through the runner's descriptor of it.
func (t *etcTemplate) write(entries []child.EtcEntry) (int, error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("etc template: %w", err)
	}
	defer unix.Close(fsfd)
	for _, kv := range [][2]string{{"size", "4m"}, {"mode", "0755"}, {"uid", strconv.Itoa(t.uid)}, {"gid", strconv.Itoa(t.gid)}} {
		if err := unix.FsconfigSetString(fsfd, kv[0], kv[1]); err != nil {
			return -1, fmt.Errorf("etc template: option %s=%s: %w", kv[0], kv[1], err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("etc template: create file system: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return -1, fmt.Errorf("etc template: mount file system: %w", err)
	}
	root := etcPath(mfd)
	if err := child.WriteEtc(root, entries, ""); err != nil {
		unix.Close(mfd)
		return -1, fmt.Errorf("etc template: %w", err)
	}
	// Through the directory, not the descriptor's link.
	err = filepath.WalkDir(root+"/.", func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, t.uid, t.gid)
	})
	if err != nil {
		unix.Close(mfd)
		return -1, fmt.Errorf("etc template: %w", err)
	}
	// Read-only in the file system itself, not only in the mounts inits
	// get: a mount's flag is one a sandbox's root could clear on its own
	// copy, the file system's is the runner's alone to change (its user
	// namespace owns it).
	if err := readOnlyFS(mfd); err != nil {
		unix.Close(mfd)
		return -1, fmt.Errorf("etc template: %w", err)
	}
	return mfd, nil
}

// readOnlyFS makes the file system of the mount at mfd read-only.
func readOnlyFS(mfd int) error {
	fd, err := unix.Fspick(mfd, "", unix.FSPICK_EMPTY_PATH|unix.FSPICK_CLOEXEC)
	if err != nil {
		return fmt.Errorf("pick file system: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.FsconfigSetFlag(fd, "ro"); err != nil {
		return fmt.Errorf("make file system read-only: %w", err)
	}
	if err := unix.FsconfigReconfigure(fd); err != nil {
		return fmt.Errorf("make file system read-only: %w", err)
	}
	return nil
}

// etcPath names a template's root to the runner.
func etcPath(mfd int) string { return "/proc/self/fd/" + strconv.Itoa(mfd) }

// close releases the template; mounts inits attached stay theirs.
func (t *etcTemplate) close() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fd >= 0 {
		unix.Close(t.fd)
		t.fd = -1
	}
	t.closed = true
}

// asHostIDs runs fn on a thread whose file system ids are uid and gid,
// with no supplementary group: the kernel drops the thread's file
// capabilities with its file system uid, so fn opens what those ids may
// open and nothing more. The thread gets its ids, groups and
// capabilities back before it serves other goroutines. It must not end
// instead: a process started with Pdeathsig (the spawner) dies with the
// thread that started it, whichever that was.
func asHostIDs(uid, gid int, fn func()) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restore, err := dropToHostIDs(uid, gid)
		if err == nil {
			fn()
		}
		if rerr := restore(); rerr != nil {
			done <- errors.Join(err, rerr)
			// A thread left with other ids must serve nobody and must
			// not end (see above): this goroutine keeps it for good.
			select {}
		}
		runtime.UnlockOSThread()
		done <- err
	}()
	return <-done
}

// dropToHostIDs gives the calling thread the file system ids uid and gid
// and no supplementary group; restore gives it back what it had.
func dropToHostIDs(uid, gid int) (restore func() error, err error) {
	groups := make([]uint32, 256)
	n, _, e := unix.RawSyscall(unix.SYS_GETGROUPS, uintptr(len(groups)), uintptr(unsafe.Pointer(&groups[0])), 0)
	if e != 0 {
		return func() error { return nil }, fmt.Errorf("read groups: %w", e)
	}
	groups = groups[:n]
	// setfsuid and setfsgid answer with the previous id, never an error:
	// asking with an invalid id tells the current one.
	const ask = uintptr(^uint32(0))
	fsuid, _, _ := unix.RawSyscall(unix.SYS_SETFSUID, ask, 0, 0)
	fsgid, _, _ := unix.RawSyscall(unix.SYS_SETFSGID, ask, 0, 0)
	restore = func() error {
		unix.RawSyscall(unix.SYS_SETFSUID, fsuid, 0, 0)
		unix.RawSyscall(unix.SYS_SETFSGID, fsgid, 0, 0)
		var p uintptr
		if len(groups) > 0 {
			p = uintptr(unsafe.Pointer(&groups[0]))
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), p, 0); e != 0 {
			return fmt.Errorf("restore groups: %w", e)
		}
		if cur, _, _ := unix.RawSyscall(unix.SYS_SETFSUID, ask, 0, 0); cur != fsuid {
			return fmt.Errorf("restore file system uid: still %d", cur)
		}
		if cur, _, _ := unix.RawSyscall(unix.SYS_SETFSGID, ask, 0, 0); cur != fsgid {
			return fmt.Errorf("restore file system gid: still %d", cur)
		}
		return nil
	}
	// Raw syscalls: the Go wrappers would change every thread.
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return restore, fmt.Errorf("clear groups: %w", e)
	}
	unix.RawSyscall(unix.SYS_SETFSGID, uintptr(gid), 0, 0)
	unix.RawSyscall(unix.SYS_SETFSUID, uintptr(uid), 0, 0)
	if cur, _, _ := unix.RawSyscall(unix.SYS_SETFSUID, ask, 0, 0); int(cur) != uid {
		return restore, fmt.Errorf("set file system uid %d: still %d", uid, cur)
	}
	if cur, _, _ := unix.RawSyscall(unix.SYS_SETFSGID, ask, 0, 0); int(cur) != gid {
		return restore, fmt.Errorf("set file system gid %d: still %d", gid, cur)
	}
	return restore, nil
}
