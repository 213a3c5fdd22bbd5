package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A pids: host command lives in the host's pid namespace, so that ps,
// top and /proc/self agree about its pid, and the kernel's own checks
// keep it from the host's processes: it runs as a host uid no other
// process has, so kill(2) and the /proc files guarded by ownership
// (oom_score_adj, autogroup, coredump_filter, clear_refs …) refuse it
// everything but its own processes, and without a capability in the
// host's user namespace ptrace, process_vm_* and /proc/<pid>/environ,
// mem, fd and root are refused too. Landlock's scoping (scopeSelf) is the
// second lock on signals and ptrace.
//
// hostUIDFirst is where those uids start, counted from the runner's id
// base, past the 65536 ids every sandbox maps; hostUIDCount bound how
// many such commands run at once on a host.
const (
	hostUIDFirst = 65536
	hostUIDCount = 65536
)

// hostUIDLockDir holds one lock file per uid in use, so two runners on a
// host (two workers, or a test binary's many) never hand out the same
// uid.
var hostUIDLockDir = "/run/amf-sandbox-uids"

// errHostPidsUnprivileged refuses pids: host to a runner without root:
// it cannot give a command a uid of its own, so every command shares the
// worker's, and the ownership checks that keep a
// pids: host command from the host's processes would guard nothing: the
// host's /proc would let a command retune the worker, its spawner and
// other commands (make them the OOM killer's first picks, renice them).
func errHostPidsUnprivileged(profile string) error {
	return fmt.Errorf("%w: profile %q sees the host's processes (pids: host), which needs a worker running as root: without root every command runs as the worker's own uid and could retune the worker's and other commands' processes through /proc; run the worker as root, or use a profile with pids: own", ErrStart, profile)
}

// hostUIDs hands out those uids, lowest free first, so a few stay in use
// and the id-mapped mounts made for them are reused.
type hostUIDs struct {
	first uint32
	mu    sync.Mutex
	locks map[uint32]*os.File // lock files opened so far
	busy  map[uint32]bool
}

func newHostUIDs(idBase uint32) *hostUIDs {
	return &hostUIDs{first: idBase + hostUIDFirst, locks: map[uint32]*os.File{}, busy: map[uint32]bool{}}
}

// acquire returns a uid no running command has; release gives it back
// once none of its processes is left.
func (h *hostUIDs) acquire() (uint32, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := os.MkdirAll(hostUIDLockDir, 0o700); err != nil {
		return 0, fmt.Errorf("%w: host uids: %v", ErrStart, err)
	}
	for k := uint32(0); k < hostUIDCount; k++ {
		uid := h.first + k
		if h.busy[uid] {
			continue
		}
		f := h.locks[uid]
		if f == nil {
			var err error
			f, err = os.OpenFile(filepath.Join(hostUIDLockDir, strconv.FormatUint(uint64(uid), 10)), os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return 0, fmt.Errorf("%w: host uids: %v", ErrStart, err)
			}
			h.locks[uid] = f
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			continue // another runner's
		}
		h.busy[uid] = true
		return uid, nil
	}
	return 0, fmt.Errorf("%w: all %d host uids for pids: host commands are in use", ErrStart, hostUIDCount)
}

// release kills what is left of uid's processes and frees it.
func (h *hostUIDs) release(uid uint32) {
	killUID(uid)
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.locks[uid]; f != nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
	}
	delete(h.busy, uid)
}

func (h *hostUIDs) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for uid, f := range h.locks {
		f.Close()
		delete(h.locks, uid)
	}
}

// killUID sends SIGKILL to every process of uid: without a pid namespace
// of its own, a command's tree does not die with its first process, and
// what it left (a daemon, a background job) would otherwise outlive it.
//
// The signal comes from one thread of the runner whose real and
// effective uids are uid for the moment, its capabilities dropped with
// them: kill(-1) then reaches exactly the processes whose real or saved
// uid is uid (the kernel lets no fork in progress escape it). Its saved
// uid stays root's, so it can take root back and the command's processes
// cannot ptrace it; Landlock's signal scope keeps their signals off it.
// The real uid must change too: the kernel lets a sender whose REAL uid
// matches a process's signal it, so one still root would kill every
// root process of the host. Nothing is sent unless the thread's ids and
// capabilities are checked to be that uid's and none.
func killUID(uid uint32) {
	if uid == 0 {
		return
	}
	runtime.LockOSThread()
	// Raw syscalls: Go's wrappers would change every thread's ids.
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), 0); e != 0 {
		runtime.UnlockOSThread()
		return
	}
	if asOnly(uid) {
		unix.RawSyscall(unix.SYS_KILL, ^uintptr(0), uintptr(syscall.SIGKILL), 0)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, 0, 0, 0); e != 0 || !asOnly(0) {
		// The thread keeps a foreign uid: stay locked, so the runtime
		// ends it with this goroutine instead of reusing it.
		return
	}
	runtime.UnlockOSThread()
}

// asOnly says whether the calling thread's real and effective uids are
// uid and, unless uid is root, it has no effective capability.
func asOnly(uid uint32) bool {
	var r, e, s uint32
	if _, _, errno := unix.RawSyscall(unix.SYS_GETRESUID, uintptr(unsafe.Pointer(&r)), uintptr(unsafe.Pointer(&e)), uintptr(unsafe.Pointer(&s))); errno != 0 {
		return false
	}
	if r != uid || e != uid {
		return false
	}
	if uid == 0 {
		return true
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) != nil {
		return false
	}
	return data[0].Effective == 0 && data[1].Effective == 0
}

// hostUIDMap maps the sandbox's 65536 ids onto idBase but for the one
// the command runs as (runAs), which becomes hostUID.
func hostUIDMap(idBase, runAs int, hostUID uint32) []syscall.SysProcIDMap {
	m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: idBase, Size: runAs}}
	m = append(m, syscall.SysProcIDMap{ContainerID: runAs, HostID: int(hostUID), Size: 1})
	if rest := 65536 - runAs - 1; rest > 0 {
		m = append(m, syscall.SysProcIDMap{ContainerID: runAs + 1, HostID: idBase + runAs + 1, Size: rest})
	}
	return m
}
