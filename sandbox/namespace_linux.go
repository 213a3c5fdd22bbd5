package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// NamespaceRunner confines each command in fresh user, mount, pid, net,
// ipc, uts and cgroup namespaces, in a minimal read-only root it pivots
// into, with no capabilities, no_new_privs, a seccomp filter, rlimits and,
// where the host has them, cgroup limits. The command runs as bash -c
// under an init that is this same binary re-executed (see MaybeInit).
type NamespaceRunner struct {
	*base
	root    bool   // running as host root: a 65536-id range is mapped
	idBase  uint32 // first host id of that range
	cgroups *cgroups
}

var _ Runner = (*NamespaceRunner)(nil)

// New returns the namespace backend. It fails with ErrUnsupported when
// the host cannot create the namespaces it needs.
func New(cfg Config) (*NamespaceRunner, error) {
	b, err := newBase(cfg)
	if err != nil {
		return nil, err
	}
	n := &NamespaceRunner{base: b, root: os.Geteuid() == 0, idBase: cfg.HostIDBase}
	if n.idBase == 0 {
		n.idBase = 1_800_000_000
	}
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		return nil, fmt.Errorf("%w: no user namespaces: %v", ErrUnsupported, err)
	}
	if n.root {
		n.cgroups = newCgroups()
	} else {
		n.cgroups = &cgroups{missing: cgroupControllers}
	}
	if len(n.cgroups.missing) > 0 {
		b.log.Warn("sandbox: cgroup controllers unavailable; limits fall back to rlimits", "missing", strings.Join(n.cgroups.missing, ","))
	}
	return n, nil
}

// Name implements Runner.
func (n *NamespaceRunner) Name() string { return "namespace" }

// Unavailable lists the cgroup controllers this host does not let the
// runner use.
func (n *NamespaceRunner) Unavailable() []string { return append([]string(nil), n.cgroups.missing...) }

// Run implements Runner.
func (n *NamespaceRunner) Run(ctx context.Context, spec Spec, out OutputFunc) (Result, error) {
	prof, err := n.admit(spec)
	if err != nil {
		return Result{}, err
	}
	dir, cleanup, err := n.workDir(spec)
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	uid, gid := 0, 0
	if n.root {
		uid, gid = sandboxUID, sandboxUID
		if err := os.Chown(dir, int(n.idBase)+uid, int(n.idBase)+gid); err != nil {
			return Result{}, fmt.Errorf("%w: hand work dir to the sandbox user: %v", ErrStart, err)
		}
	}
	ctx, cancel := n.timeout(ctx, spec)
	defer cancel()

	lim := n.limits
	cfg := initConfig{
		Command:  spec.Command,
		Shell:    shellPath(),
		Env:      sandboxEnv(spec.Env),
		Network:  prof.Network,
		UID:      uid,
		GID:      gid,
		Hostname: "amf-sandbox",
		Tmp:      lim.Tmp,
		Rlimits: []rlimit{
			{unix.RLIMIT_CPU, uint64(lim.CPUTime / time.Second)},
			{unix.RLIMIT_AS, lim.AddressSpace},
			{unix.RLIMIT_FSIZE, lim.FileSize},
			{unix.RLIMIT_NOFILE, lim.OpenFiles},
			{unix.RLIMIT_NPROC, uint64(lim.Processes)},
			{unix.RLIMIT_CORE, 0},
		},
	}
	res, err := n.start(ctx, dir, cfg, lim, spec, out)
	return res, err
}

func (n *NamespaceRunner) start(ctx context.Context, dir string, cfg initConfig, lim Limits, spec Spec, out OutputFunc) (Result, error) {
	// As root, the work dir travels as a detached clone of its mount
	// (open_tree), because the sandbox's ids may not search the host path
	// and a plain descriptor's mount lives in the wrong namespace.
	// Unprivileged, the sandbox runs with the worker's own uid and binds
	// the path.
	var (
		wfd int
		err error
	)
	if n.root {
		wfd, err = unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	} else {
		cfg.WorkPath = dir
		wfd, err = unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%w: open work dir: %v", ErrStart, err)
	}
	workDir := os.NewFile(uintptr(wfd), "workdir")
	defer workDir.Close()
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrStart, err)
	}
	defer cfgW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		return Result{}, fmt.Errorf("%w: %v", ErrStart, err)
	}
	defer errR.Close()

	sink := newOutputSink(out, n.outputBudget(spec))
	stdout, stderr, drained, err := sink.pipes()
	if err != nil {
		cfgR.Close()
		errW.Close()
		return Result{}, err
	}
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{initArg0},
		Env:         []string{initEnv + "=1"},
		Stdout:      stdout,
		Stderr:      stderr,
		ExtraFiles:  []*os.File{cfgR, workDir, errW},
		SysProcAttr: n.sysProcAttr(cfg.Network),
	}
	id := newID()
	cg, missing := n.cgroups.create(id, lim)
	defer cg.remove()

	start := stopwatch(time.Now())
	err = cmd.Start()
	stdout.Close()
	stderr.Close()
	cfgR.Close()
	errW.Close()
	if err != nil {
		drained()
		return Result{}, fmt.Errorf("%w: %v", ErrStart, err)
	}
	pid := cmd.Process.Pid
	fail := func(e error) (Result, error) {
		syscall.Kill(pid, syscall.SIGKILL)
		cmd.Wait()
		drained()
		return Result{}, fmt.Errorf("%w: %v", ErrStart, e)
	}
	// The init waits for its config, so it is in its cgroups before it
	// can run anything.
	if err := cg.add(pid); err != nil {
		n.log.Warn("sandbox: could not place command in its cgroups", "err", err)
		missing = append(missing, "cgroup-placement")
	}
	if err := json.NewEncoder(cfgW).Encode(cfg); err != nil {
		return fail(fmt.Errorf("send config: %w", err))
	}
	cfgW.Close()
	// EOF means the init reached execve; anything else is its error.
	if msg, _ := io.ReadAll(errR); len(msg) > 0 {
		return fail(errors.New("sandbox init: " + string(msg)))
	}

	done := make(chan struct{})
	stopped := make(chan bool, 1)
	go func() {
		select {
		case <-ctx.Done():
			// The command is the pid namespace's init: killing it makes
			// the kernel kill every process it left.
			syscall.Kill(pid, syscall.SIGKILL)
			stopped <- errors.Is(ctx.Err(), context.DeadlineExceeded)
		case <-done:
			stopped <- false
		}
	}()
	werr := cmd.Wait()
	close(done)
	timedOut := <-stopped
	drained()
	res := resultFrom(cmd.ProcessState, start.elapsed())
	res.Unenforced = missing
	if peak, hit := cg.usage(); len(cg.dirs) > 0 {
		if peak > 0 {
			res.PeakMemKB = peak
		}
		if len(hit) > 0 {
			res.LimitHit = hit[0]
		}
	}
	switch {
	case timedOut:
		res.TimedOut, res.LimitHit = true, "timeout"
	case res.Signal == unix.SIGXCPU.String():
		res.LimitHit = "cpu"
	case res.Signal == unix.SIGXFSZ.String():
		res.LimitHit = "file_size"
	}
	res.Truncated = sink.finish()
	if res.Truncated && res.LimitHit == "" {
		res.LimitHit = "output"
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return res, fmt.Errorf("wait: %w", werr)
	}
	return res, nil
}

func (n *NamespaceRunner) sysProcAttr(network bool) *syscall.SysProcAttr {
	flags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS)
	if !network {
		flags |= unix.CLONE_NEWNET
	}
	a := &syscall.SysProcAttr{
		Cloneflags: flags,
		Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
		Pdeathsig:  syscall.SIGKILL,
		Setsid:     true,
	}
	if n.root {
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(n.idBase), Size: 65536}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(n.idBase), Size: 65536}}
		a.GidMappingsEnableSetgroups = true
	} else {
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	return a
}

// sandboxEnv is the whole environment of a command: nothing of the
// worker's leaks in.
func sandboxEnv(extra []string) []string {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + workDirInside,
		"USER=" + sandboxUser,
		"LOGNAME=" + sandboxUser,
		"SHELL=/bin/bash",
		"LANG=C.UTF-8",
		"TERM=dumb",
		"TMPDIR=/tmp",
	}
	return append(env, extra...)
}
