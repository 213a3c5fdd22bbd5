package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A root runner gives every work dir its own tmpfs, sized by the limits
// (WorkDirBytes, WorkDirInodes): the kernel refuses writes past either,
// and the pages are charged to the memory cgroup of the command that
// wrote them. The tmpfs is never attached to the host's tree: the
// runner holds it as a detached mount (fsmount) and hands each command
// of that work dir a clone of it, so nothing a command leaves there
// (setuid files, symlinks to host paths) can be reached on the host,
// the host path of the work dir does not show in the sandbox's
// mountinfo, and it uses no host disk. The host directory only names
// the work dir. A work dir lives until Release, until it has been unused
// for WorkDirTTL, until an idle one is freed to make room within the
// runner's budget (workdirbudget_linux.go), or until Close.
type workDirs struct {
	mu   sync.Mutex
	fs   map[string]*workFS // host dir → its tmpfs
	uid  int                // host uid and gid that own the tmpfs root
	lim  Limits
	ttl  time.Duration
	tick time.Time // last sweep for expired work dirs
}

type workFS struct {
	fd   int   // the detached mount
	size int64 // its size=, its share of the runner's total
	used time.Time
	runs int // commands using it now
	// filled is set when the dir was full at its share while a command
	// used it and was then grown (others went idle): that command met
	// the total even though the dir has room by the time it ends.
	filled bool
}

func newWorkDirs(uid int, lim Limits, ttl time.Duration) *workDirs {
	return &workDirs{fs: map[string]*workFS{}, uid: uid, lim: lim, ttl: ttl}
}

// acquire returns the work dir's file system for one command, making the
// tmpfs the first time; done must be called when the command has ended.
func (w *workDirs) acquire(dir string) (*workFS, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sweep()
	f, ok := w.fs[dir]
	if !ok {
		if err := makeRoom(w, w.lim, w.ttl); err != nil {
			return nil, err
		}
		size := startSize(w, w.lim)
		mfd, err := w.mount(size)
		if err != nil {
			return nil, err
		}
		f = &workFS{fd: mfd, size: size}
		w.fs[dir] = f
	}
	if f.runs == 0 {
		f.filled = false
	}
	f.runs++
	f.used = time.Now()
	rebalance(w, w.lim)
	return f, nil
}

// clone returns a detached copy of the work dir's mount for one init to
// attach; the caller closes it.
func (f *workFS) clone() (int, error) {
	fd, err := unix.OpenTree(f.fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return -1, fmt.Errorf("%w: clone work dir mount: %v", ErrStart, err)
	}
	return fd, nil
}

// done marks the end of a command that used f.
func (w *workDirs) done(f *workFS) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f.runs--
	f.used = time.Now()
	rebalance(w, w.lim)
}

// mount makes a detached tmpfs of size bytes: nosuid and nodev, owned by
// the sandbox user.
func (w *workDirs) mount(size int64) (int, error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("%w: work dir file system: %v", ErrStart, err)
	}
	defer unix.Close(fsfd)
	for _, kv := range [][2]string{
		{"size", strconv.FormatInt(size, 10)},
		{"nr_inodes", strconv.FormatInt(w.lim.WorkDirInodes, 10)},
		{"mode", "0755"},
		{"uid", strconv.Itoa(w.uid)},
		{"gid", strconv.Itoa(w.uid)},
	} {
		if err := unix.FsconfigSetString(fsfd, kv[0], kv[1]); err != nil {
			return -1, fmt.Errorf("%w: work dir file system option %s=%s: %v", ErrStart, kv[0], kv[1], err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("%w: create work dir file system: %v", ErrStart, err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return -1, fmt.Errorf("%w: mount work dir file system: %v", ErrStart, err)
	}
	return mfd, nil
}

// full says which budget of the work dir is spent, if one is, and a note
// for the command's output naming the limit and the setting that raises
// it.
func (w *workDirs) full(f *workFS, failed bool) (limit, note string) {
	w.mu.Lock()
	size, filled := f.size, f.filled
	w.mu.Unlock()
	var st unix.Statfs_t
	if err := unix.Fstatfs(f.fd, &st); err != nil {
		return "", ""
	}
	switch {
	case st.Bfree == 0 || (filled && failed):
		return workFullNote(w.lim, size)
	case st.Ffree == 0:
		return "work_dir_inodes", fmt.Sprintf("[amf: the work dir is full: its work_dir_inodes limit of %d files (work_dir.inodes) is reached]", w.lim.WorkDirInodes)
	}
	return "", ""
}

// workFullNote names the byte limit a full work dir of size bytes met:
// its own (work_dir_bytes), or its share of the runner's total while
// other work dirs held the rest (work_dir_total).
func workFullNote(lim Limits, size int64) (limit, note string) {
	if lim.WorkDirTotal > 0 && size < pageDown(lim.WorkDirBytes) {
		return "work_dir_total", fmt.Sprintf("[amf: the work dir is full: its share of the runner's work dir total is reached, %d MiB while the other work dirs hold the rest of the %d MiB limit (work_dir.total_mib in the profiles file raises it)]", size>>20, lim.WorkDirTotal>>20)
	}
	return "work_dir_bytes", fmt.Sprintf("[amf: the work dir is full: its work_dir_bytes limit of %d MiB (work_dir.size_mib) is reached]", lim.WorkDirBytes>>20)
}

// release frees a work dir's tmpfs and removes the (empty) host dir.
func (w *workDirs) release(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f, ok := w.fs[dir]; ok {
		unix.Close(f.fd)
		delete(w.fs, dir)
		rebalance(w, w.lim)
	}
	os.Remove(dir)
}

// free releases one work dir; called with mu held.
func (w *workDirs) free(dir string, f *workFS) {
	unix.Close(f.fd)
	delete(w.fs, dir)
	os.Remove(dir)
}

// sweep releases the work dirs unused for longer than the TTL; called
// with mu held, at most once a minute.
func (w *workDirs) sweep() {
	now := time.Now()
	if w.ttl <= 0 || now.Sub(w.tick) < time.Minute && !w.tick.IsZero() {
		return
	}
	w.tick = now
	for dir, f := range w.fs {
		if f.runs == 0 && now.Sub(f.used) > w.ttl {
			w.free(dir, f)
		}
	}
}

// closeAll frees every work dir.
func (w *workDirs) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for dir, f := range w.fs {
		w.free(dir, f)
	}
}
