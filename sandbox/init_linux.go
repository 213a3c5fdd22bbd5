package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The init protocol: the parent starts /proc/self/exe with initEnv set and
// three extra descriptors.
const (
	initEnv   = "AMF_SANDBOX_INIT"
	initArg0  = "amf-sandbox-init"
	fdConfig  = 3 // read: the initConfig as JSON, then EOF
	fdWorkDir = 4 // the work dir: a detached mount (root) or an O_PATH descriptor
	fdError   = 5 // write: why init failed; closed on exec when it did not
)

// initConfig is what the parent tells the sandbox init.
type initConfig struct {
	Command  string   `json:"command"`
	Shell    string   `json:"shell"`
	Env      []string `json:"env"`
	Network  bool     `json:"network"`
	UID      int      `json:"uid"`
	GID      int      `json:"gid"`
	Hostname string   `json:"hostname"`
	Tmp      int64    `json:"tmp"`
	WorkPath string   `json:"work_path,omitempty"` // bind this path; else move the mount at fdWorkDir`
	Rlimits  []rlimit `json:"rlimits"`
}

type rlimit struct {
	Resource int    `json:"r"`
	Value    uint64 `json:"v"`
}

// MaybeInit runs the sandbox init when this process was started as one
// and never returns in that case; otherwise it returns at once. Every
// binary that runs confined commands calls it first thing in main (and
// test binaries in TestMain), because confinement re-executes the binary
// itself, as runc does.
func MaybeInit() {
	if os.Getenv(initEnv) != "1" || len(os.Args) == 0 || os.Args[0] != initArg0 {
		return
	}
	// Credentials, the capability bounding set, no_new_privs and the
	// seccomp filter are per thread: everything happens on this one,
	// which then becomes the command through execve.
	runtime.LockOSThread()
	err := runInit()
	f := os.NewFile(fdError, "init-error")
	fmt.Fprintf(f, "%v", err)
	os.Exit(127)
}

func runInit() error {
	if _, err := unix.FcntlInt(fdError, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return fmt.Errorf("mark error pipe: %w", err)
	}
	var c initConfig
	data, err := io.ReadAll(os.NewFile(fdConfig, "init-config"))
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	lastCap := lastCapability()
	if err := setupRoot(&c); err != nil {
		return err
	}
	if !c.Network {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if err := unix.Sethostname([]byte(c.Hostname)); err != nil {
		return fmt.Errorf("set hostname: %w", err)
	}
	// A cgroup namespace rooted at the task's own cgroup; only this thread
	// enters it, and the command inherits it.
	_ = unix.Unshare(unix.CLONE_NEWCGROUP)
	for _, r := range c.Rlimits {
		lim := unix.Rlimit{Cur: r.Value, Max: r.Value}
		if err := unix.Prlimit(0, r.Resource, &lim, nil); err != nil {
			return fmt.Errorf("set rlimit %d: %w", r.Resource, err)
		}
	}
	if err := dropPrivileges(c.UID, c.GID, lastCap); err != nil {
		return err
	}
	if err := loadSeccomp(); err != nil {
		return err
	}
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close descriptors: %w", err)
	}
	if err := unix.Chdir(workDirInside); err != nil {
		return fmt.Errorf("enter work dir: %w", err)
	}
	argv := []string{shellBase(c.Shell), "-c", c.Command}
	if err := syscall.Exec(c.Shell, argv, c.Env); err != nil {
		return fmt.Errorf("exec %s: %w", c.Shell, err)
	}
	return nil
}

func shellBase(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func lastCapability() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 63
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 63
	}
	return n
}

// dropPrivileges leaves the calling thread with no capability it could
// ever regain: bounding and ambient sets emptied, ids switched, effective,
// permitted and inheritable sets cleared, no_new_privs set.
func dropPrivileges(uid, gid, lastCap int) error {
	for c := 0; c <= lastCap; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	// Raw syscalls: the Go wrappers would change every thread, and only
	// this one matters (and may change).
	if uid != 0 || gid != 0 {
		if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
			return fmt.Errorf("clear groups: %w", e)
		}
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		return fmt.Errorf("set gid: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
		return fmt.Errorf("set uid: %w", e)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clear capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	return nil
}

// loopbackUp brings lo up in the sandbox's empty network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("read loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring loopback up: %w", err)
	}
	return nil
}
