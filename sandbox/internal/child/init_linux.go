package child

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The init protocol. The parent starts /proc/self/exe as initArg0 with
// initEnv set and a SOCK_SEQPACKET socket at fdControl. The init builds
// the root file system and pivots into it (the costly part, done before
// any task is known, so runners can keep inits warm), reports readyByte,
// then receives the seccomp filter (see filter_linux.go) and one task
// message: the taskConfig as JSON with descriptors attached (stdout,
// stderr and, as root, the work dir as a detached mount). It finishes the
// confinement and executes the command. If anything fails it writes the
// reason to the socket; on success the socket closes with the exec.
const (
	initEnv   = "AMF_SANDBOX_INIT"
	initArg0  = "amf-sandbox-init"
	fdControl = 3
	readyByte = 0

	envTmp      = "AMF_SANDBOX_TMP"      // size of /tmp and /dev/shm in bytes
	envDNS      = "AMF_SANDBOX_DNS"      // with network: the nameserver for resolv.conf
	envWorkPath = "AMF_SANDBOX_WORKPATH" // unprivileged: the host work dir to bind
)

// taskConfig is the per-command part of the init's instructions.
type taskConfig struct {
	Command string `json:"command"`
	// Argv are the command's words when bash would only execute them
	// (policy.Direct): the init executes the program itself.
	Argv    []string `json:"argv,omitempty"`
	Shell   string   `json:"shell"`
	Env     []string `json:"env"`
	UID     int      `json:"uid"`
	GID     int      `json:"gid"`
	Rlimits []rlimit `json:"rlimits"`
	// WorkMount is true when a detached work dir mount is attached as
	// the third descriptor.
	WorkMount bool `json:"work_mount"`
	// Workspace is the host path a workspace is mounted at; with
	// WorkspaceFd (an index into the task's descriptors) the runner sent
	// it as a detached mount, else the init cloned it itself.
	Workspace   string `json:"workspace,omitempty"`
	WorkspaceFd int    `json:"workspace_fd,omitempty"`
	// Masks are the glob patterns of paths hidden from the command.
	Masks []string `json:"masks,omitempty"`
	// RootFd indexes the task's descriptor holding the host root's
	// overlay (view host on a root runner); the root is built then.
	RootFd int `json:"root_fd,omitempty"`
	// Dir is the command's working directory; empty means /work.
	Dir string `json:"dir,omitempty"`
}

type rlimit struct {
	Resource int    `json:"r"`
	Value    uint64 `json:"v"`
}

// maybeInit runs the sandbox init when this process was started as one
// and never returns in that case; otherwise it returns at once.
func maybeInit() {
	if os.Getenv(initEnv) != "1" || len(os.Args) == 0 || os.Args[0] != initArg0 {
		return
	}
	// Credentials, the capability bounding set, no_new_privs and the
	// seccomp filter are per thread: everything happens on this one,
	// which then becomes the command through execve.
	runtime.LockOSThread()
	err := runInit()
	unix.Write(fdControl, []byte(err.Error()))
	os.Exit(127)
}

func runInit() error {
	tmp, _ := strconv.ParseInt(os.Getenv(envTmp), 10, 64)
	if tmp <= 0 {
		tmp = DefaultTmp
	}
	lastCap := lastCapability()
	view, err := readViewConfig()
	if err != nil {
		return err
	}
	pingRange()
	wsFd := -1
	if !view.RootFromTask {
		if wsFd, err = setupRoot(tmp, os.Getenv(envWorkPath), os.Getenv(envDNS), view, -1); err != nil {
			return err
		}
	}
	if err := loopbackUp(); err != nil {
		return err
	}
	hostname := sandboxHost
	if view.Hostname != "" {
		hostname = view.Hostname
	}
	if err := unix.Sethostname([]byte(hostname)); err != nil {
		return fmt.Errorf("set hostname: %w", err)
	}
	if _, err := unix.Write(fdControl, []byte{readyByte}); err != nil {
		return fmt.Errorf("report ready: %w", err)
	}

	filter, err := receiveFilter()
	if err == errNoFilter {
		os.Exit(0) // released before it had a task
	}
	if err != nil {
		return err
	}
	c, fds, err := receiveTask()
	if err != nil {
		return err
	}
	if view.RootFromTask {
		if c.RootFd < 2 || c.RootFd >= len(fds) {
			return fmt.Errorf("task message lacks the host root")
		}
		if wsFd, err = setupRoot(tmp, "", os.Getenv(envDNS), view, fds[c.RootFd]); err != nil {
			return err
		}
	}
	if c.WorkMount {
		if len(fds) < 3 {
			return fmt.Errorf("task message lacks the work dir")
		}
		if err := attachWork(fds[2]); err != nil {
			return err
		}
	}
	if c.WorkspaceFd > 0 {
		if c.WorkspaceFd >= len(fds) {
			return fmt.Errorf("task message lacks the workspace")
		}
		wsFd = fds[c.WorkspaceFd]
	}
	if c.Workspace != "" {
		if wsFd < 0 {
			return fmt.Errorf("no workspace mount for %s", c.Workspace)
		}
		if err := attachWorkspace(wsFd, c.Workspace); err != nil {
			return err
		}
	}
	if err := applyMasks(c.Masks); err != nil {
		return err
	}
	if err := sealRoot(); err != nil {
		return err
	}
	if len(fds) < 2 {
		return fmt.Errorf("task message lacks stdout and stderr")
	}
	for i, fd := range fds[:2] {
		if err := unix.Dup3(fd, i+1, 0); err != nil {
			return fmt.Errorf("install output descriptor: %w", err)
		}
	}
	// A cgroup namespace rooted at the task's own cgroup, which the parent
	// moved this process into before sending the task; only this thread
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
	if view.HostPids {
		if err := scopeSelf(); err != nil {
			return err
		}
	}
	if err := loadSeccomp(filter); err != nil {
		return err
	}
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close descriptors: %w", err)
	}
	dir := workDirInside
	if c.Dir != "" {
		dir = c.Dir
	}
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("enter work dir %s: %w", dir, err)
	}
	if len(c.Argv) > 0 {
		execDirect(c.Argv, c.Env) // returns when it could not: bash says why
	}
	if err := syscall.Exec(c.Shell, ShellArgv(c.Shell, c.Command), c.Env); err != nil {
		return fmt.Errorf("exec %s: %w", c.Shell, err)
	}
	return nil
}

// execDirect executes the program argv names as bash would, or returns.
func execDirect(argv, env []string) {
	cwd, err := unix.Getwd()
	if err != nil {
		return
	}
	if prog, progEnv, ok := Direct(argv, env, cwd); ok {
		_ = syscall.Exec(prog, argv, progEnv)
	}
}

// receiveTask blocks until the parent sends the task.
func receiveTask() (taskConfig, []int, error) {
	var c taskConfig
	buf := make([]byte, maxCommandBytes*2+64<<10)
	oob := make([]byte, unix.CmsgSpace(4*5))
	n, oobn, _, _, err := unix.Recvmsg(fdControl, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return c, nil, fmt.Errorf("receive task: %w", err)
	}
	if n == 0 {
		// The runner closed without a task (shutdown of a warm init).
		os.Exit(0)
	}
	var fds []int
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return c, nil, fmt.Errorf("parse task descriptors: %w", err)
	}
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			return c, nil, fmt.Errorf("parse task descriptors: %w", err)
		}
		fds = append(fds, got...)
	}
	if err := json.Unmarshal(buf[:n], &c); err != nil {
		return c, nil, fmt.Errorf("decode task: %w", err)
	}
	return c, fds, nil
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

// loopbackUp brings lo up in the sandbox's own network namespace.
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
