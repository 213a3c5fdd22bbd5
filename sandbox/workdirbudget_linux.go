package sandbox

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// The work dirs of a runner are RAM (tmpfs) and a session keeps its own
// for work_dir.idle_ttl, so one submitter naming many sessions could
// hold the host's memory. The runner as a whole is therefore bounded:
// at most WorkDirMax work dirs, holding at most WorkDirTotal bytes
// together. The total holds at every moment, not only when a work dir
// is made: the sizes of the work dirs' tmpfs always sum to at most
// WorkDirTotal (workdirshare_linux.go), so the kernel itself refuses a
// write past a dir's share, while commands write, with "No space left
// on device". A new work dir frees the least recently used idle one (a
// session's: its next task starts in an empty dir) while there is no
// fair share left for it, and is refused when there is no room at all
// and every work dir is in use by a running command.

// workDirHolder is a runner's set of work dirs, as the budget sees it:
// the namespace backend's detached mounts, the micro-VM backend's mounted
// ones.
type workDirHolder interface {
	count() int
	// shares lists every work dir's tmpfs with its size.
	shares() []workShare
	// evictIdle frees the least recently used work dir no command is
	// using; false when every one is in use.
	evictIdle() bool
}

// minWorkDirRoom is the least room a new work dir is made with when its
// fair share is not free and no idle work dir can be freed: below it the
// new work dir is refused rather than handed out full.
const minWorkDirRoom = 1 << 20

// makeRoom frees idle work dirs of h until one more fits lim; called with
// h's lock held, before a new work dir is made.
func makeRoom(h workDirHolder, lim Limits, ttl time.Duration) error {
	for {
		over, short := overBudget(h, lim)
		if over == "" && !short {
			return nil
		}
		if h.evictIdle() {
			continue
		}
		if over == "" {
			return nil // less than a fair share, but more than nothing
		}
		return fmt.Errorf("%w: %s, and no work dir is idle to free: wait for running tasks to end, or raise the limit in the work_dir section of the profiles file (sessions' work dirs are freed once unused for work_dir.idle_ttl, %s, or sooner when room is needed)",
			ErrWorkDirBudget, over, ttl)
	}
}

// overBudget says which runner-wide limit one more work dir would pass,
// or "", and whether the room left is less than the new dir's fair share
// of the total, an equal part of it among all work dirs (then idle work
// dirs are freed for it, the least recently used first).
func overBudget(h workDirHolder, lim Limits) (over string, short bool) {
	if n := h.count(); lim.WorkDirMax > 0 && n >= lim.WorkDirMax {
		return fmt.Sprintf("the runner holds %d work dirs, the limit is %d (work_dir.max_dirs)", n, lim.WorkDirMax), false
	}
	if lim.WorkDirTotal <= 0 {
		return "", false
	}
	var held int64
	shares := h.shares()
	for _, s := range shares {
		held += max(s.held(), pageSize)
	}
	free := lim.WorkDirTotal - held
	if free < min(minWorkDirRoom, lim.WorkDirBytes) {
		return fmt.Sprintf("the runner's work dirs hold %d MiB, the limit is %d MiB (work_dir.total_mib)", held>>20, lim.WorkDirTotal>>20), true
	}
	fair := lim.WorkDirTotal / int64(len(shares)+1)
	return "", free < min(lim.WorkDirBytes, fair)
}

// startSize is the size a new work dir's tmpfs is made with: its whole
// budget when every work dir can have its whole budget within the total,
// else one page, grown to its share by rebalance before a command runs.
func startSize(h workDirHolder, lim Limits) int64 {
	if lim.WorkDirTotal <= 0 || int64(h.count()+1)*lim.WorkDirBytes <= lim.WorkDirTotal {
		return lim.WorkDirBytes
	}
	return pageSize
}

// usedBytes is what every work dir's tmpfs holds now.
func usedBytes(h workDirHolder) int64 {
	var total int64
	for _, s := range h.shares() {
		total += s.held()
	}
	return total
}

func (w *workDirs) count() int { return len(w.fs) }

func (w *workDirs) shares() []workShare {
	s := make([]workShare, 0, len(w.fs))
	for _, f := range w.fs {
		s = append(s, f)
	}
	return s
}

func (w *workDirs) evictIdle() bool {
	var victim string
	var oldest *workFS
	for dir, f := range w.fs {
		if f.runs == 0 && (oldest == nil || f.used.Before(oldest.used)) {
			victim, oldest = dir, f
		}
	}
	if oldest == nil {
		return false
	}
	w.free(victim, oldest)
	return true
}

// A namespace work dir's share is its detached mount.
func (f *workFS) busy() bool     { return f.runs > 0 }
func (f *workFS) sizeNow() int64 { return f.size }
func (f *workFS) held() int64 {
	var st unix.Statfs_t
	if unix.Fstatfs(f.fd, &st) != nil {
		return f.size // unknown: assume it is full
	}
	return statfsUsed(&st)
}

func (f *workFS) setSize(size int64) error {
	if size > f.size && f.runs > 0 && f.held() >= f.size-pageSize {
		f.filled = true
	}
	if err := resizeTmpfs(f.fd, "", unix.FSPICK_EMPTY_PATH, size); err != nil {
		return err
	}
	f.size = size
	return nil
}

// statfsUsed is the bytes a file system's blocks in use hold.
func statfsUsed(st *unix.Statfs_t) int64 { return int64(st.Blocks-st.Bfree) * st.Bsize }
