package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// NamespaceRunner confines each command in fresh user, mount, pid, net,
// ipc, uts and cgroup namespaces, in a minimal read-only root it pivots
// into, with no capabilities, no_new_privs, a seccomp filter, rlimits and,
// where the host has them, cgroup limits. The command runs as bash -c
// under an init that is this same binary re-executed (see MaybeInit),
// started by a small spawner process so the worker is never forked.
//
// As root, the runner keeps a few inits warm: started, in their
// namespaces, their root built, waiting for a task. A task takes one and
// the runner starts a replacement in the background. Close stops them.
type NamespaceRunner struct {
	*base
	root     bool   // running as host root: a 65536-id range is mapped
	idBase   uint32 // first host id of that range
	workdirs *workDirs
	cgroups  *cgroups
	spawner  *spawner
	net      *network     // nil: network profiles get no egress (unprivileged)
	idmaps   *idmaps      // root: workspaces' id-mapped mounts
	hostUIDs *hostUIDs    // root: a uid of its own per pids: host command
	etc      *etcTemplate // nil: each init fills its /etc itself

	warm    chan *initProc // strict inits
	warmNet chan *initProc // inits wired for egress
	refill  chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	close   sync.Once
}

var _ Runner = (*NamespaceRunner)(nil)

// initProc is a started sandbox init waiting for its task.
type initProc struct {
	pid     int
	pidfd   int
	status  *os.File // reports from the spawner, which reaps the init
	ctl     *os.File // the runner's end of the control socket
	cg      *taskCgroup
	missing []string // limits its cgroups could not apply
	slot    *netSlot // its egress path, if it has one
	gen     int      // generation of the spawner that started it
}

// New returns the namespace backend. It fails with ErrUnsupported when
// the host cannot create the namespaces it needs. Close releases the
// warm inits.
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
		n.workdirs = newWorkDirs(int(n.idBase)+sandboxUID, n.limits, n.limits.WorkDirTTL)
		n.idmaps = newIdmaps(int(n.idBase), sandboxUID)
		n.hostUIDs = newHostUIDs(n.idBase)
		n.cgroups = newCgroups()
		if n.net, err = newNetwork(cfg.DNS); err != nil {
			// Fail closed: network profiles get an empty network
			// namespace, like strict ones.
			n.net = nil
			b.log.Warn("sandbox: no egress path for network profiles; they run without network", "err", err)
		}
	} else {
		n.cgroups = &cgroups{missing: cgroupControllers}
		b.log.Info("sandbox: running unprivileged; the command runs as the worker's own uid mapped to root without capabilities, no cgroup limits apply, and network profiles get no network (only root can wire an egress path)")
	}
	// Only root can hand an init a mount of the host's.
	if n.root {
		if n.etc, err = newEtcTemplate("/etc", int(n.idBase), int(n.idBase)); err != nil {
			b.log.Warn("sandbox: each init fills its own /etc", "err", err)
		}
	}
	if len(n.cgroups.missing) > 0 {
		b.log.Warn("sandbox: cgroup controllers unavailable; rlimits still apply", "missing", strings.Join(n.cgroups.missing, ","))
	}
	// One init now, so a host that cannot make the namespaces (user
	// namespaces disabled, a seccomp or AppArmor profile forbidding them)
	// fails here rather than at the first command.
	probe, err := n.startSpawning(cfg.selfInit)
	if err != nil {
		n.etc.close()
		if n.net != nil {
			n.net.close()
		}
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	warm := cfg.WarmInits
	if warm == 0 {
		warm = 2
	}
	if !n.root || warm <= 0 {
		n.discard(probe)
	}
	if n.root && warm > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		n.cancel = cancel
		n.warm = make(chan *initProc, warm)
		n.warmNet = make(chan *initProc, warm)
		n.warm <- probe
		n.refill = make(chan struct{}, 1)
		n.refill <- struct{}{}
		n.wg.Add(1)
		go n.keepWarm(ctx)
	}
	return n, nil
}

// Release frees a work dir and its file system: what a task left there
// is gone. Workers call it when a task ends; session work dirs are also
// freed once unused for Limits.WorkDirTTL.
func (n *NamespaceRunner) Release(dir string) {
	if n.workdirs != nil {
		n.workdirs.release(dir)
	}
}

// Name implements Runner.
func (n *NamespaceRunner) Name() string { return "namespace" }

// Close stops the warm inits and lets the spawner exit once the commands
// already running, which are not affected, have finished.
func (n *NamespaceRunner) Close() error {
	n.close.Do(func() {
		if n.cancel != nil {
			n.cancel()
		}
		n.wg.Wait()
		if n.workdirs != nil {
			defer n.workdirs.closeAll()
		}
		if n.idmaps != nil {
			defer n.idmaps.close()
		}
		if n.hostUIDs != nil {
			defer n.hostUIDs.close()
		}
		if n.net != nil {
			defer n.net.close()
		}
		defer n.etc.close()
		defer n.spawner.close()
		for _, pool := range []chan *initProc{n.warm, n.warmNet} {
			for len(pool) > 0 {
				n.discard(<-pool)
			}
		}
	})
	return nil
}

// keepWarm tops the pool of warm inits up whenever one is taken.
func (n *NamespaceRunner) keepWarm(ctx context.Context) {
	defer n.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.refill:
		}
		for _, network := range []bool{false, true} {
			pool := n.warm
			if network {
				pool = n.warmNet
			}
			for len(pool) < cap(pool) && ctx.Err() == nil {
				p, err := n.spawn(network, "", viewConfig{})
				if err != nil {
					n.log.Warn("sandbox: could not start a warm init", "err", err)
					break
				}
				select {
				case pool <- p:
				default:
					n.discard(p)
				}
			}
		}
	}
}

// acquire returns an init for a task: a warm one when there is one,
// else a freshly started one. Warm inits have the minimal view; any
// other view is built for its command.
func (n *NamespaceRunner) acquire(network bool, workPath string, view viewConfig) (*initProc, bool, error) {
	pool := n.warm
	if network {
		pool = n.warmNet
	}
	if !view.zero() {
		pool = nil
	}
	for pool != nil {
		select {
		case p := <-pool:
			if n.spawner.current(p.gen) {
				return p, true, nil
			}
			n.discard(p) // its spawner died, and it with it
			continue
		default:
		}
		break
	}
	p, err := n.spawn(network, workPath, view)
	return p, false, err
}

// later runs cleanup work (removing a finished command's cgroups and
// work dir) after Run has returned; Close waits for it.
func (n *NamespaceRunner) later(fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
}

// topUp asks keepWarm to refill the pool.
func (n *NamespaceRunner) topUp() {
	if n.refill == nil {
		return
	}
	select {
	case n.refill <- struct{}{}:
	default:
	}
}

// spawn starts an init in new namespaces. workPath is bound as /work
// before the pivot (unprivileged runners, which cannot hand over a mount).
func (n *NamespaceRunner) spawn(network bool, workPath string, view viewConfig) (*initProc, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: control socket: %v", ErrStart, err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "sandbox-control"), os.NewFile(uintptr(fds[1]), "sandbox-control")
	env := append(raceEnv(), initEnv+"=1", envTmp+"="+strconv.FormatInt(n.limits.Tmp, 10))
	var slot *netSlot
	if network && n.net != nil {
		if slot, err = n.net.reserve(); err != nil {
			ours.Close()
			theirs.Close()
			return nil, err
		}
		env = append(env, envDNS+"="+slot.gw.String())
	}
	if workPath != "" {
		env = append(env, envWorkPath+"="+workPath)
	}
	if !view.zero() {
		b, err := json.Marshal(view.View)
		if err != nil {
			ours.Close()
			theirs.Close()
			n.net.release(slot)
			return nil, fmt.Errorf("%w: encode view: %v", ErrStart, err)
		}
		env = append(env, envView+"="+string(b))
	}
	etc := -1
	if n.etc != nil && !view.HostRoot {
		if etc, err = n.etc.mount(); err != nil {
			n.log.Warn("sandbox: the init fills its own /etc", "err", err)
		} else {
			env = append(env, envEtc+"=1")
			defer unix.Close(etc)
		}
	}
	p, err := n.spawner.start(n.spawnRequest(env, view), theirs, etc)
	theirs.Close()
	if err != nil {
		ours.Close()
		n.net.release(slot)
		return nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	p.ctl = ours
	p.slot = slot
	// The task's cgroups are made and entered now, before the init has
	// anything of a task to run and off the path of a waiting command.
	p.cg, p.missing = n.cgroups.create(newID(), n.limits)
	if err := p.cg.add(p.pid); err != nil {
		n.log.Warn("sandbox: could not place init in its cgroups", "err", err)
		p.missing = append(p.missing, "cgroup-placement")
	}
	// The init reports once its root is built, or says why it failed.
	buf := make([]byte, 4096)
	k, err := ours.Read(buf)
	if err != nil || k != 1 || buf[0] != readyByte {
		n.discard(p)
		if err == nil {
			err = errors.New("sandbox init: " + string(buf[:k]))
		}
		return nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	// The filter it will install, sent now, off the path of its task.
	filter, err := seccompMessage()
	if err == nil {
		_, err = ours.Write(filter)
	}
	if err != nil {
		n.discard(p)
		return nil, fmt.Errorf("%w: send seccomp filter: %v", ErrStart, err)
	}
	if slot != nil {
		if err := n.net.attach(slot, p.pid); err != nil {
			n.discard(p)
			return nil, fmt.Errorf("%w: %v", ErrStart, err)
		}
	}
	return p, nil
}

// discard stops an init that will get no task.
func (n *NamespaceRunner) discard(p *initProc) {
	p.ctl.Close() // an idle init exits on EOF
	p.kill()
	p.wait()
	p.release()
	if p.cg != nil {
		p.cg.remove()
	}
	n.net.release(p.slot)
}

// Run implements Runner.
func (n *NamespaceRunner) Run(ctx context.Context, spec Spec, out OutputFunc) (Result, error) {
	prof, space, err := n.admit(spec)
	if err != nil {
		return Result{}, err
	}
	if prof.HostPids() && !n.root {
		return Result{}, errHostPidsUnprivileged(prof.Name)
	}
	// Replace the warm init this command takes only once it is done, so
	// starting the next one does not compete with this one for the CPU.
	defer n.topUp()
	dir, cleanup, err := n.workDir(spec)
	if err != nil {
		return Result{}, err
	}
	task := taskConfig{
		Command: spec.Command,
		Shell:   shellPath(),
		Env:     sandboxEnv(append(workspaceEnv(space, prof.HostView()), spec.Env...)),
		Rlimits: n.rlimits(),
	}
	task.Argv = directArgv(task.Shell, task.Command, task.Env)
	view := n.viewFor(prof, space, &task)
	var wfs *workFS
	workPath := dir
	if n.root {
		task.UID, task.GID = sandboxUID, sandboxUID
		if space != nil {
			task.UID, task.GID = n.workspaceIDs(space)
		}
		if view.HostPids {
			uid, err := n.hostUIDs.acquire()
			if err != nil {
				cleanup()
				return Result{}, err
			}
			// Deferred first, so it runs last: once the command's
			// processes are gone, whatever ended it.
			defer n.hostUIDs.release(uid)
			view.hostUID, view.runAs = uid, task.UID
		}
		// The work dir is its own size-limited file system, handed over
		// as a detached clone of its mount (see workDirs).
		wfs, err = n.workdirs.acquire(dir)
		if err != nil {
			cleanup()
			return Result{}, err
		}
		defer n.workdirs.done(wfs)
		if spec.WorkDir == "" {
			defer n.later(func() { n.workdirs.release(dir) })
		}
		task.WorkMount = true
		workPath = ""
	} else {
		defer n.later(cleanup)
	}
	ctx, cancel := n.timeout(ctx, spec)
	defer cancel()

	sink := newOutputSink(out, n.outputBudget(spec))
	stdout, stderr, drain, err := sink.pipes()
	if err != nil {
		return Result{}, err
	}
	closeOut := sync.OnceFunc(func() { stdout.Close(); stderr.Close() })
	defer closeOut()

	start := stopwatch(time.Now())
	fds := []int{int(stdout.Fd()), int(stderr.Fd())}
	p, err := n.hand(prof.Network, workPath, view, task, fds, wfs, space)
	closeOut()
	if err != nil {
		drain(outputGrace)
		return Result{}, err
	}
	// The command is the pid namespace's init: killing it makes the
	// kernel kill every process it left. In the host's pid namespace,
	// what it left is every process of its host uid.
	kill := p.kill
	if view.hostUID != 0 {
		kill = func() { p.kill(); killUID(view.hostUID) }
	}
	stop := killOnDone(ctx, kill)
	ws, maxRSS, werr := p.wait()
	timedOut := stop()
	if view.hostUID != 0 {
		killUID(view.hostUID)
	}
	p.release()
	n.net.release(p.slot)
	// The time and the status are the tree's; output is read on for a
	// short grace only, since a write end passed to another process
	// would otherwise keep this run open.
	res := statusResult(ws, maxRSS, start.elapsed())
	drain(outputGrace)
	if werr != nil {
		res.ExitCode = -1 // the spawner died: no status, and the command with it
	}
	res.Unenforced = p.missing
	if !n.root {
		res.Unenforced = append(res.Unenforced, "work_dir")
	}
	if prof.Network && n.net == nil {
		res.Unenforced = append(res.Unenforced, "network") // no egress path: none at all
	}
	cg := p.cg
	defer n.later(cg.remove)
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
	if wfs != nil {
		if full, note := n.workdirs.full(wfs, res.ExitCode != 0); full != "" {
			res.LimitHit = full
			sink.note(note)
		}
	}
	res.Truncated, res.LateOutput = sink.finish()
	if res.Truncated && res.LimitHit == "" {
		res.LimitHit = "output"
	}
	if werr != nil {
		return res, fmt.Errorf("wait: %w", werr)
	}
	return res, nil
}

// hand gives the task to an init and waits until it has executed the
// command. A warm init that turns out dead is replaced by a fresh one.
// With a work dir file system (wfs), every attempt gets a new clone of
// its mount: an init that failed may already have attached its clone.
func (n *NamespaceRunner) hand(network bool, workPath string, view viewConfig, task taskConfig, outFds []int, wfs *workFS, ws *Workspace) (*initProc, error) {
	sendWS := ws != nil && n.root
	next := len(outFds)
	if wfs != nil {
		next++
	}
	if sendWS {
		task.WorkspaceFd = next
		next++
	}
	if view.RootFromTask {
		task.RootFd = next
	}
	msg, err := json.Marshal(task)
	if err != nil {
		return nil, fmt.Errorf("%w: encode task: %v", ErrStart, err)
	}
	for attempt := 0; ; attempt++ {
		fds := outFds
		if wfs != nil {
			workFd, err := wfs.clone()
			if err != nil {
				return nil, err
			}
			defer unix.Close(workFd)
			if view.hostUID != 0 && task.UID == sandboxUID {
				if err := n.idmaps.remapWork(workFd, view.hostUID); err != nil {
					return nil, err
				}
			}
			fds = append(outFds[:len(outFds):len(outFds)], workFd)
		}
		if sendWS {
			wsFd, err := n.idmaps.mount(ws, view.hostUID)
			if err != nil {
				return nil, err
			}
			defer unix.Close(wsFd)
			fds = append(fds[:len(fds):len(fds)], wsFd)
		}
		if view.RootFromTask {
			rootFd, err := hostRootMount()
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrStart, err)
			}
			defer unix.Close(rootFd)
			fds = append(fds[:len(fds):len(fds)], rootFd)
		}
		p, warm, err := n.acquire(network, workPath, view)
		if err != nil {
			return nil, err
		}
		err = n.give(p, msg, fds)
		if err == nil {
			return p, nil
		}
		n.discard(p)
		if !warm || attempt > 0 {
			return nil, fmt.Errorf("%w: %v", ErrStart, err)
		}
		n.log.Warn("sandbox: warm init failed; starting a fresh one", "err", err)
	}
}

func (n *NamespaceRunner) give(p *initProc, msg []byte, fds []int) error {
	p.cg.resetPeak()
	if err := unix.Sendmsg(int(p.ctl.Fd()), msg, unix.UnixRights(fds...), nil, 0); err != nil {
		return fmt.Errorf("send task: %w", err)
	}
	// EOF means the init reached execve; anything else is its error.
	reply, _ := io.ReadAll(p.ctl)
	p.ctl.Close()
	if len(reply) > 0 {
		return errors.New("sandbox init: " + string(reply))
	}
	return nil
}

func (n *NamespaceRunner) rlimits() []rlimit {
	lim := n.limits
	return []rlimit{
		{Resource: unix.RLIMIT_CPU, Value: uint64(lim.CPUTime / time.Second)},
		{Resource: unix.RLIMIT_AS, Value: lim.AddressSpace},
		{Resource: unix.RLIMIT_FSIZE, Value: lim.FileSize},
		{Resource: unix.RLIMIT_NOFILE, Value: lim.OpenFiles},
		{Resource: unix.RLIMIT_NPROC, Value: uint64(lim.Processes)},
		{Resource: unix.RLIMIT_CORE, Value: 0},
	}
}

func (n *NamespaceRunner) spawnRequest(env []string, view viewConfig) spawnRequest {
	// Every sandbox has its own network namespace: the host's loopback
	// services and abstract unix sockets are out of reach of all.
	flags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNET)
	r := spawnRequest{Env: env, Cloneflags: flags}
	if view.hostUID != 0 {
		// pids: host: the host's pid namespace, as a uid of its own.
		r.Cloneflags &^= unix.CLONE_NEWPID
		r.UIDMap = hostUIDMap(int(n.idBase), view.runAs, view.hostUID)
		r.GIDMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(n.idBase), Size: 65536}}
		r.Setgroups = true
		return r
	}
	if n.root {
		r.UIDMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(n.idBase), Size: 65536}}
		r.GIDMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(n.idBase), Size: 65536}}
		r.Setgroups = true
	} else {
		r.UIDMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		r.GIDMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	return r
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
		"TERM=dumb",
		"TMPDIR=/tmp",
	}
	env = append(env, localeEnv()...)
	return mergeEnv(env, extra)
}
