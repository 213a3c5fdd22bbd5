package microvm

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// guestEnv marks the agent's environment: the kernel hands unknown
// name=value boot arguments to init as its environment.
const guestEnv = "AMF_MICROVM_GUEST"

// agentPort is the name of the virtio-serial port the agent talks on.
const agentPort = "amf.agent"

// MaybeGuest runs the guest agent when this process is the init of a
// micro-VM guest and never returns in that case; otherwise it returns
// at once. sandbox.MaybeInit calls it, so every binary that can run
// confined commands can also be a guest's init.
func MaybeGuest() {
	if os.Getpid() != 1 || os.Getenv(guestEnv) != "1" {
		return
	}
	err := runAgent()
	fmt.Fprintf(os.Stderr, "amf guest agent: %v\n", err)
	unix.Sync()
	// QEMU runs with -no-reboot: a restart ends the machine.
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	os.Exit(1)
}

func runAgent() error {
	if err := guestMounts(); err != nil {
		return err
	}
	if err := loadModules(); err != nil {
		return err
	}
	port, err := openPort()
	if err != nil {
		return err
	}
	defer port.Close()
	if err := guestRoot(); err != nil {
		writeFrame(port, frameFail, []byte(err.Error()))
		return err
	}
	// The guest's page cache starts cold and /usr comes over 9p: run
	// the shell once now, off the task's time, so bash and its
	// libraries are in memory when the task comes.
	exec.Command("/bin/bash", "-c", "true").Run()
	if err := writeFrame(port, frameReady, nil); err != nil {
		return fmt.Errorf("report ready: %w", err)
	}
	typ, b, err := readFrame(port)
	if err != nil {
		return fmt.Errorf("read task: %w", err)
	}
	if typ != frameTask {
		return fmt.Errorf("expected a task frame, got %q", typ)
	}
	var t Task
	if err := json.Unmarshal(b, &t); err != nil {
		return fmt.Errorf("decode task: %w", err)
	}
	ex, err := runTask(port, t)
	if err != nil {
		writeFrame(port, frameFail, []byte(err.Error()))
		return err
	}
	// The work dir is flushed to the host before the host hears the
	// command has ended.
	unix.Unmount("/work", 0)
	b, _ = json.Marshal(ex)
	if err := writeFrame(port, frameExit, b); err != nil {
		return fmt.Errorf("report exit: %w", err)
	}
	// The host destroys the guest now; wait for it.
	io.Copy(io.Discard, port)
	return errors.New("host hung up")
}

func guestMounts() error {
	for _, m := range []struct{ src, dst, fs, data string }{
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", ""},
		{"cgroup2", "/sys/fs/cgroup", "cgroup2", ""},
	} {
		if err := unix.Mount(m.src, m.dst, m.fs, unix.MS_NOSUID|unix.MS_NOEXEC, m.data); err != nil {
			return fmt.Errorf("mount %s: %w", m.dst, err)
		}
	}
	return nil
}

// loadModules loads the initramfs's modules in their numbered order,
// passing each the module.param=value boot arguments meant for it (the
// kernel leaves that to modprobe; virtio_mmio learns its devices so).
func loadModules() error {
	cmdline, _ := os.ReadFile("/proc/cmdline")
	ents, err := os.ReadDir("/" + guestModDir)
	if err != nil {
		return fmt.Errorf("list modules: %w", err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		mod := strings.TrimSuffix(n[strings.IndexByte(n, '-')+1:], ".ko")
		mod = strings.ReplaceAll(mod, "-", "_")
		var params []string
		for _, a := range strings.Fields(string(cmdline)) {
			if p, ok := strings.CutPrefix(a, mod+"."); ok {
				params = append(params, p)
			}
		}
		f, err := os.Open(filepath.Join("/", guestModDir, n))
		if err != nil {
			return fmt.Errorf("open module %s: %w", n, err)
		}
		err = unix.FinitModule(int(f.Fd()), strings.Join(params, " "), 0)
		f.Close()
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("load module %s: %w", mod, err)
		}
	}
	return nil
}

// openPort finds the agent's virtio-serial port by name. The port
// appears once the console driver has probed the device, which happens
// asynchronously after the module loads.
func openPort() (*os.File, error) {
	for i := 0; ; i++ {
		f, err := findPort()
		if err == nil || i == 2000 {
			return f, err
		}
		unix.Nanosleep(&unix.Timespec{Nsec: 5e6}, nil)
	}
}

func findPort() (*os.File, error) {
	ents, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
	for _, p := range ents {
		b, err := os.ReadFile(p)
		if err != nil || strings.TrimSpace(string(b)) != agentPort {
			continue
		}
		dev := "/dev/" + filepath.Base(filepath.Dir(p))
		f, err := os.OpenFile(dev, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", dev, err)
		}
		return f, nil
	}
	cmdline, _ := os.ReadFile("/proc/cmdline")
	devs, _ := filepath.Glob("/sys/bus/virtio/devices/*")
	return nil, fmt.Errorf("no virtio-serial port named %s (virtio devices: %v; boot arguments: %s)", agentPort, devs, cmdline)
}

// guestRoot prepares what every task finds: the host's /usr read-only
// (the agent's own library directories replaced by the merged-/usr
// links), the work share, a root only root may write, the command's
// cgroup, the hostname and the loopback device.
func guestRoot() error {
	opts := "trans=virtio,version=9p2000.L,msize=262144,cache=loose"
	if err := unix.Mount("usr", "/usr", "9p", unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, opts); err != nil {
		return fmt.Errorf("mount /usr: %w", err)
	}
	for _, d := range []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32"} {
		if _, err := os.Stat("/usr/" + d); err != nil {
			continue
		}
		os.RemoveAll("/" + d)
		if err := os.Symlink("usr/"+d, "/"+d); err != nil {
			return fmt.Errorf("link /%s: %w", d, err)
		}
	}
	if err := unix.Mount("share", "/share", "9p", unix.MS_NODEV|unix.MS_NOSUID, "trans=virtio,version=9p2000.L,msize=262144,cache=none"); err != nil {
		return fmt.Errorf("mount the work share: %w", err)
	}
	// The initramfs's root is writable by all; only the work dir and
	// /tmp are the command's.
	if err := os.Chmod("/", 0o755); err != nil {
		return fmt.Errorf("protect the root: %w", err)
	}
	if err := os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+memory +pids +cpu"), 0); err != nil {
		return fmt.Errorf("enable cgroup controllers: %w", err)
	}
	if err := os.Mkdir(cgroupDir, 0o755); err != nil {
		return fmt.Errorf("make the command's cgroup: %w", err)
	}
	// No user namespaces, so the command can make no namespace at all
	// (the namespace backend's seccomp filter denies them): as root in
	// one it would reach mounts, netfilter and the rest of the kernel
	// opened to namespace root, on its way to root in the guest.
	if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0"), 0); err != nil {
		return fmt.Errorf("disable user namespaces: %w", err)
	}
	if os.Getenv(netEnv) == "1" {
		if err := guestNIC(); err != nil {
			return err
		}
	}
	if err := unix.Sethostname([]byte("amf-sandbox")); err != nil {
		return fmt.Errorf("set hostname: %w", err)
	}
	lo, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err == nil {
		ifr, _ := unix.NewIfreq("lo")
		ifr.SetUint16(unix.IFF_UP | unix.IFF_LOOPBACK | unix.IFF_RUNNING)
		unix.IoctlIfreq(lo, unix.SIOCSIFFLAGS, ifr)
		unix.Close(lo)
	}
	return nil
}

const cgroupDir = "/sys/fs/cgroup/command"

func runTask(port io.Writer, t Task) (Exit, error) {
	// The command's user is named amf, whatever its id.
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/usr/sbin/nologin\namf:x:%d:%d:amf:/work:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", t.UID, t.GID)
	group := fmt.Sprintf("root:x:0:\namf:x:%d:\nnogroup:x:65534:\n", t.GID)
	if err := os.WriteFile("/etc/passwd", []byte(passwd), 0o644); err != nil {
		return Exit{}, fmt.Errorf("write /etc/passwd: %w", err)
	}
	if err := os.WriteFile("/etc/group", []byte(group), 0o644); err != nil {
		return Exit{}, fmt.Errorf("write /etc/group: %w", err)
	}
	work := filepath.Join("/share", t.WorkSub)
	if err := unix.Mount(work, "/work", "", unix.MS_BIND, ""); err != nil {
		return Exit{}, fmt.Errorf("bind the work dir: %w", err)
	}
	if t.DNS != "" {
		if err := os.WriteFile("/etc/resolv.conf", []byte("nameserver "+t.DNS+"\n"), 0o644); err != nil {
			return Exit{}, fmt.Errorf("write /etc/resolv.conf: %w", err)
		}
	}
	tmpOpts := fmt.Sprintf("size=%d,mode=1777", t.Tmp)
	if err := unix.Mount("tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpOpts); err != nil {
		return Exit{}, fmt.Errorf("mount /tmp: %w", err)
	}
	limits := map[string]string{
		"memory.max":      strconv.FormatInt(t.Memory, 10),
		"memory.swap.max": "0",
		"pids.max":        strconv.FormatInt(t.Processes, 10),
		"cpu.max":         fmt.Sprintf("%d 100000", int64(t.CPUs*100000)),
	}
	for k, v := range limits {
		if err := os.WriteFile(filepath.Join(cgroupDir, k), []byte(v), 0); err != nil && k != "memory.swap.max" {
			return Exit{}, fmt.Errorf("set %s: %w", k, err)
		}
	}
	cg, err := os.Open(cgroupDir)
	if err != nil {
		return Exit{}, fmt.Errorf("open the command's cgroup: %w", err)
	}
	defer cg.Close()

	// The agent serves this one command and then waits to be destroyed,
	// so it takes the command's rlimits itself and the command inherits
	// them from its first instruction, without a helper to execute
	// first (an exec costs a tenth of a second under emulation). The
	// process limit sits above the cgroup's pids.max, which is the one
	// meant to stop a fork bomb and whose event names it. RLIMIT_CPU
	// counts the agent's own CPU time too (its boot, about a second),
	// which is added so the agent is not killed; the command may get
	// that much more.
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	own := uint64(ru.Utime.Sec+ru.Stime.Sec) + 1
	for _, rl := range []struct {
		res int
		v   uint64
	}{
		{unix.RLIMIT_CPU, uint64(t.CPUTime) + own},
		{unix.RLIMIT_FSIZE, t.FileSize},
		{unix.RLIMIT_NOFILE, t.OpenFiles},
		{unix.RLIMIT_NPROC, uint64(2 * t.Processes)},
		{unix.RLIMIT_CORE, 0},
	} {
		if err := unix.Setrlimit(rl.res, &unix.Rlimit{Cur: rl.v, Max: rl.v}); err != nil {
			return Exit{}, fmt.Errorf("set rlimit %d: %w", rl.res, err)
		}
	}
	// --norc: Debian's bash reads ~/.bashrc, which the command's work
	// dir may hold, when SSH_CLIENT or SSH2_CLIENT is set.
	cmd := exec.Command("/bin/bash", "--norc", "-c", "--", t.Command)
	cmd.Dir = "/work"
	cmd.Env = append([]string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/work", "LANG=C.UTF-8", "TERM=dumb", "TMPDIR=/tmp", "USER=amf",
	}, t.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:      true,
		Credential:  &syscall.Credential{Uid: uint32(t.UID), Gid: uint32(t.GID), Groups: []uint32{}},
		UseCgroupFD: true,
		CgroupFD:    int(cg.Fd()),
	}
	var mu sync.Mutex
	send := func(typ byte) io.Writer {
		return writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			for rest := p; len(rest) > 0; {
				n := min(len(rest), chunkSize)
				if err := writeFrame(port, typ, rest[:n]); err != nil {
					return 0, err
				}
				rest = rest[n:]
			}
			return len(p), nil
		})
	}
	var pumps sync.WaitGroup
	for _, typ := range []byte{frameStdout, frameStderr} {
		r, w, err := os.Pipe()
		if err != nil {
			return Exit{}, fmt.Errorf("make output pipe: %w", err)
		}
		if typ == frameStdout {
			cmd.Stdout = w
		} else {
			cmd.Stderr = w
		}
		defer w.Close()
		pumps.Add(1)
		go func() {
			defer pumps.Done()
			defer r.Close()
			io.CopyBuffer(send(typ), r, make([]byte, chunkSize))
		}()
	}
	werr := cmd.Start()
	cmd.Stdout.(*os.File).Close()
	cmd.Stderr.(*os.File).Close()
	var ps *os.ProcessState
	if werr == nil {
		ps, werr = cmd.Process.Wait()
		// Whatever the command left running dies with it, and with it
		// the last write ends of the output pipes.
		killCgroup()
	}
	pumps.Wait()
	if werr != nil {
		return Exit{}, fmt.Errorf("start the command: %w", werr)
	}
	ex := Exit{Code: -1}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Exited():
			ex.Code = ws.ExitStatus()
		case ws.Signaled():
			ex.Signal = ws.Signal().String()
			ex.Code = 128 + int(ws.Signal())
		}
	}
	if b, err := os.ReadFile(filepath.Join(cgroupDir, "memory.peak")); err == nil {
		n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		ex.PeakMemKB = n / 1024
	}
	ex.OOM = eventCount(filepath.Join(cgroupDir, "memory.events"), "oom_kill") > 0
	ex.PidsMax = eventCount(filepath.Join(cgroupDir, "pids.events"), "max") > 0
	return ex, nil
}

// killCgroup kills every process of the command and waits until the
// cgroup is empty.
func killCgroup() {
	os.WriteFile(filepath.Join(cgroupDir, "cgroup.kill"), []byte("1"), 0)
	for eventCount(filepath.Join(cgroupDir, "cgroup.events"), "populated") != 0 {
		unix.Nanosleep(&unix.Timespec{Nsec: 1e6}, nil)
	}
}

func eventCount(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		if k == key {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
