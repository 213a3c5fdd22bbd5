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
// together. A new work dir past either frees the least recently used
// idle one (a session's: its next task starts in an empty dir), and is
// refused when every work dir is in use by a running command.

// workDirHolder is a runner's set of work dirs, as the budget sees it:
// the namespace backend's detached mounts, the micro-VM backend's mounted
// ones.
type workDirHolder interface {
	count() int
	usedBytes() int64
	// evictIdle frees the least recently used work dir no command is
	// using; false when every one is in use.
	evictIdle() bool
}

// makeRoom frees idle work dirs of h until one more fits lim; called with
// h's lock held, before a new work dir is made.
func makeRoom(h workDirHolder, lim Limits, ttl time.Duration) error {
	for {
		over := overBudget(h, lim)
		if over == "" {
			return nil
		}
		if !h.evictIdle() {
			return fmt.Errorf("%w: %s, and no work dir is idle to free: wait for running tasks to end, or raise the limit in the work_dir section of the profiles file (sessions' work dirs are freed once unused for work_dir.idle_ttl, %s, or sooner when room is needed)",
				ErrWorkDirBudget, over, ttl)
		}
	}
}

// overBudget says which runner-wide limit one more work dir would pass,
// or "".
func overBudget(h workDirHolder, lim Limits) string {
	if n := h.count(); lim.WorkDirMax > 0 && n >= lim.WorkDirMax {
		return fmt.Sprintf("the runner holds %d work dirs, the limit is %d (work_dir.max_dirs)", n, lim.WorkDirMax)
	}
	if used := h.usedBytes(); lim.WorkDirTotal > 0 && used >= lim.WorkDirTotal {
		return fmt.Sprintf("the runner's work dirs hold %d MiB, the limit is %d MiB (work_dir.total_mib)", used>>20, lim.WorkDirTotal>>20)
	}
	return ""
}

func (w *workDirs) count() int { return len(w.fs) }

// usedBytes is what every work dir's tmpfs holds now.
func (w *workDirs) usedBytes() int64 {
	var total int64
	for _, f := range w.fs {
		var st unix.Statfs_t
		if unix.Fstatfs(f.fd, &st) == nil {
			total += statfsUsed(&st)
		}
	}
	return total
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

// statfsUsed is the bytes a file system's blocks in use hold.
func statfsUsed(st *unix.Statfs_t) int64 { return int64(st.Blocks-st.Bfree) * st.Bsize }
