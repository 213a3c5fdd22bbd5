package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/amf-os/amf/sandbox/microvm"
	"golang.org/x/sys/unix"
)

// MicroVMRunner runs each command in a throwaway QEMU microvm guest: a
// kernel of its own between the command and the host. The guest sees
// the host's /usr read-only and the work dir read-write over 9p, has
// no network device at all unless its profile allows network, and its
// memory and CPUs come from the limits; the command runs unprivileged
// inside under a cgroup and rlimits. The same validation as every backend comes first.
//
// It needs root. It keeps guests booted ahead of need (a warm pool);
// each serves one command and is destroyed.
type MicroVMRunner struct {
	*base
	idBase uint32
	spec   microvm.GuestSpec
	pool   *microvm.Pool
	// net is the egress path of network profiles, the namespace
	// backend's; nil when it could not be made (netErr says why), and
	// network profiles are refused. netPool boots their guests.
	net     *network
	netErr  error
	netPool *microvm.Pool
	// Accel is the acceleration in use ("kvm" or "tcg").
	Accel string

	mu     sync.Mutex
	mounts vmWorkDirs // work dirs this runner mounted a tmpfs on
	close  sync.Once
}

var _ Runner = (*MicroVMRunner)(nil)

// guestOverheadMiB is guest memory beyond the command's limit: the
// kernel, the initramfs (the agent binary) and the page cache.
const guestOverheadMiB = 192

// ErrNetworkMicroVM refuses network profiles on the micro-VM backend
// when it has no egress path (the namespace backend's veth pair, NAT and
// nftables table) to confine a guest's network with.
var ErrNetworkMicroVM = errors.New("the microvm backend has no confined egress path for network profiles; fix the cause given, or run network profiles with --sandbox namespace")

// NewMicroVM returns the micro-VM backend. It assembles the guest image
// under the state dir on first use, chooses the acceleration (logged,
// with the probe's outcome) and, as root, starts booting warm guests.
func NewMicroVM(cfg Config) (*MicroVMRunner, error) {
	b, err := newBase(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := microvm.FindQEMU(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("%w: find this binary, the guest's agent: %v", ErrUnsupported, err)
	}
	dir := filepath.Join(cfg.stateDir(), "microvm")
	img, err := microvm.Assemble(dir, self, cfg.MicroVM.Kernel)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	if os.Geteuid() != 0 {
		// The work dir is a tmpfs of its own bound into a booted
		// guest's share: both are mounts.
		return nil, fmt.Errorf("%w: the microvm backend needs root, to give each work dir its own file system and bind it into a booted guest", ErrUnsupported)
	}
	m := &MicroVMRunner{base: b, idBase: cfg.HostIDBase, mounts: vmWorkDirs{}}
	if m.idBase == 0 {
		m.idBase = 1_800_000_000
	}
	removeStaleGuests(filepath.Join(dir, "guests"))
	m.spec = microvm.GuestSpec{
		Image:     img,
		MemoryMiB: int(m.limits.Memory>>20) + guestOverheadMiB,
		CPUs:      int(math.Ceil(m.limits.CPUs)),
		Dir:       filepath.Join(dir, "guests", "run-"+strconv.Itoa(os.Getpid())),
	}
	choice, err := microvm.ChooseAccel(context.Background(), m.spec, cfg.MicroVM.Accel)
	if err != nil {
		return nil, err
	}
	m.Accel = choice.Accel
	m.spec.Launcher = &microvm.QEMU{Accel: choice.Accel}
	if choice.Accel == microvm.AccelKVM && choice.Probe > 0 {
		b.log.Info("sandbox: microvm guests run under KVM", "probe_boot", choice.Probe.Round(time.Millisecond))
	} else if choice.Accel == microvm.AccelTCG {
		b.log.Warn("sandbox: MICROVM GUESTS RUN UNDER SOFTWARE EMULATION (TCG), NOT KVM: expect boots of seconds and slow commands", "why", choice.Why)
	}
	warm := cfg.MicroVM.WarmGuests
	if warm == 0 {
		warm = 1
	}
	if warm < 0 {
		warm = 0
	}
	m.pool = microvm.NewPool(m.spec, warm)
	var once sync.Once
	m.pool.OnBoot = func(g *microvm.Guest, err error) {
		if err != nil {
			b.log.Warn("sandbox: a microvm guest failed to boot", "err", err)
			return
		}
		once.Do(func() {
			b.log.Warn("sandbox: microvm guest booted", "accel", choice.Accel, "boot", g.BootTime.Round(time.Millisecond))
		})
	}
	m.pool.Start()
	m.startNetwork(cfg)
	return m, nil
}

// startNetwork readies network profiles' guests. Each has a NIC on
// QEMU's user-mode network, and its QEMU runs in a network namespace of
// its own wired to the host exactly as a namespace sandbox's: a veth
// pair, kernel NAT, and the runner's nftables table that drops all
// traffic to the host's addresses, between sandboxes and inbound, and
// sends DNS to the configured resolver. So the user-mode network's
// "host" (10.0.2.2) is that namespace's empty loopback, not the host's.
// They are booted when asked for (no warm pool): a waiting guest would
// hold an address slot and a QEMU for a profile that may never run.
func (m *MicroVMRunner) startNetwork(cfg Config) {
	m.net, m.netErr = newNetwork(cfg.DNS)
	if m.netErr != nil {
		m.net = nil
		m.log.Warn("sandbox: no egress path for microvm network profiles; they are refused", "err", m.netErr)
		return
	}
	spec := m.spec
	spec.Network = func(pid int) (string, func(), error) {
		slot, err := m.net.reserve()
		if err != nil {
			return "", nil, err
		}
		if err := m.net.attach(slot, pid); err != nil {
			m.net.release(slot)
			return "", nil, err
		}
		return slot.gw.String(), func() { m.net.release(slot) }, nil
	}
	m.netPool = microvm.NewPool(spec, 0)
}

// Name implements Runner.
func (m *MicroVMRunner) Name() string { return "microvm" }

// Close stops booting and destroys the warm guests; the work dirs this
// runner mounted are unmounted.
func (m *MicroVMRunner) Close() error {
	m.close.Do(func() {
		m.pool.Close()
		if m.netPool != nil {
			m.netPool.Close()
		}
		if m.net != nil {
			m.net.close()
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		for dir := range m.mounts {
			unix.Unmount(dir, unix.MNT_DETACH)
		}
		m.mounts = vmWorkDirs{}
	})
	return nil
}

// Release frees a work dir: its file system is unmounted and what a task
// left there is gone.
func (m *MicroVMRunner) Release(dir string) {
	m.mu.Lock()
	if _, mounted := m.mounts[dir]; mounted {
		unix.Unmount(dir, unix.MNT_DETACH)
		delete(m.mounts, dir)
		rebalance(m.mounts, m.limits)
	}
	m.mu.Unlock()
	os.RemoveAll(dir)
}

// Run implements Runner.
func (m *MicroVMRunner) Run(ctx context.Context, spec Spec, out OutputFunc) (Result, error) {
	// What the guest cannot show is refused before anything else.
	if p, err := m.policy.Profile(m.profileName(spec)); err == nil {
		if err := microVMView(p, spec.Workspace); err != nil {
			return Result{}, err
		}
	}
	prof, _, err := m.admit(spec)
	if err != nil {
		return Result{}, err
	}
	pool := m.pool
	if prof.Network {
		if m.netPool == nil {
			return Result{}, fmt.Errorf("%w: profile %q allows network: %w: %v", ErrUnsupported, prof.Name, ErrNetworkMicroVM, m.netErr)
		}
		pool = m.netPool
	}
	dir, cleanup, err := m.workDir(spec)
	if err != nil {
		return Result{}, err
	}
	lim := m.limits
	task := microvm.Task{
		Command:   spec.Command,
		Env:       spec.Env,
		Memory:    lim.Memory,
		Processes: lim.Processes,
		CPUs:      lim.CPUs,
		CPUTime:   int64(lim.CPUTime / time.Second),
		FileSize:  lim.FileSize,
		OpenFiles: lim.OpenFiles,
		Tmp:       lim.Tmp,
	}
	start := stopwatch(time.Now())
	// What the command writes in the guest lands on the host owned by an
	// otherwise unused id (9p passes ownership through).
	task.UID, task.GID = int(m.idBase)+sandboxUID, int(m.idBase)+sandboxUID
	if spec.WorkDir == "" {
		defer m.Release(dir)
	}
	if err := m.workFS(dir, task.UID); err != nil {
		cleanup()
		return Result{}, err
	}
	defer m.workDone(dir)
	g, err := pool.Get(ctx)
	if err != nil {
		return m.startError(ctx, start, err)
	}
	// A warm guest exports a directory of its own; the task's work
	// dir is bound into it now, and the guest reaches it by name.
	sub := filepath.Join(g.Share, "w")
	if err := os.Mkdir(sub, 0o755); err != nil {
		g.Close()
		return Result{}, fmt.Errorf("%w: %v", ErrStart, err)
	}
	if err := unix.Mount(dir, sub, "", unix.MS_BIND, ""); err != nil {
		g.Close()
		return Result{}, fmt.Errorf("%w: bind the work dir into the guest's share: %v", ErrStart, err)
	}
	task.WorkSub = "w"
	task.DNS = g.DNS
	defer func() {
		// The machine is gone before the work dir leaves its
		// share (Close removes nothing recursively).
		g.Close()
		unix.Unmount(sub, unix.MNT_DETACH)
		os.Remove(sub)
		os.Remove(g.Share)
	}()
	start = stopwatch(time.Now())
	// The timeout is the command's: waiting for a warm guest to finish
	// booting is bounded by the caller's context only.
	ctx, cancel := m.timeout(ctx, spec)
	defer cancel()

	sink := newOutputSink(out, m.outputBudget(spec))
	lines := [2]lineSplitter{{s: Stdout, sink: sink}, {s: Stderr, sink: sink}}
	ex, err := g.Run(ctx, task, func(stdout bool, b []byte) {
		if stdout {
			lines[0].write(b)
		} else {
			lines[1].write(b)
		}
	})
	lines[0].flush()
	lines[1].flush()
	res := Result{Duration: start.elapsed(), ExitCode: ex.Code, Signal: ex.Signal, PeakMemKB: ex.PeakMemKB}
	if err != nil {
		if ctx.Err() == nil {
			res.Truncated, res.LateOutput = sink.finish()
			return res, fmt.Errorf("microvm: %w", err)
		}
		// The deadline or the caller ended the run: the guest was
		// destroyed, and the command with everything it started.
		res.ExitCode, res.Signal = 128+int(unix.SIGKILL), unix.SIGKILL.String()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			res.TimedOut, res.LimitHit = true, "timeout"
		}
	}
	switch {
	case res.TimedOut:
	case ex.OOM:
		res.LimitHit = "memory"
	case ex.PidsMax:
		res.LimitHit = "pids"
	case res.Signal == unix.SIGXCPU.String():
		res.LimitHit = "cpu"
	case res.Signal == unix.SIGXFSZ.String():
		res.LimitHit = "file_size"
	}
	if res.LimitHit == "" {
		if full, note := m.workFull(dir); full != "" {
			res.LimitHit = full
			sink.note(note)
		}
	}
	res.Truncated, res.LateOutput = sink.finish()
	if res.Truncated && res.LimitHit == "" {
		res.LimitHit = "output"
	}
	return res, nil
}

func (m *MicroVMRunner) startError(ctx context.Context, start stopwatch, err error) (Result, error) {
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return Result{Duration: start.elapsed(), ExitCode: -1, TimedOut: true, LimitHit: "timeout"}, nil
	}
	return Result{}, fmt.Errorf("%w: %v", ErrStart, err)
}

// workFS makes the work dir a file system of its own, a tmpfs with the
// work dir budget (nosuid, nodev: nothing the guest leaves there runs
// with privileges on the host), unless it already is one this runner
// made. It stays mounted for the next task of the same work dir until
// Release, until unused for WorkDirTTL, or until an idle one is freed to
// keep the runner within its budget (workdirbudget_linux.go), as the
// namespace backend's work dirs; workDone must follow.
func (m *MicroVMRunner) workFS(dir string, uid int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mounts.sweep(m.limits.WorkDirTTL)
	if w, ok := m.mounts[dir]; ok {
		w.runs++
		w.used = time.Now()
		rebalance(m.mounts, m.limits)
		return nil
	}
	if err := makeRoom(m.mounts, m.limits, m.limits.WorkDirTTL); err != nil {
		return err
	}
	size := startSize(m.mounts, m.limits)
	opts := fmt.Sprintf("size=%d,nr_inodes=%d,mode=0755,uid=%d,gid=%d", size, m.limits.WorkDirInodes, uid, uid)
	if err := unix.Mount("amf-microvm-work", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("%w: mount the work dir's file system: %v", ErrStart, err)
	}
	m.mounts[dir] = &vmWorkDir{dir: dir, size: size, runs: 1, used: time.Now()}
	rebalance(m.mounts, m.limits)
	return nil
}

// workDone marks the end of a command's use of its work dir.
func (m *MicroVMRunner) workDone(dir string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w, ok := m.mounts[dir]; ok {
		w.runs--
		w.used = time.Now()
		rebalance(m.mounts, m.limits)
	}
}

// vmWorkDirs are a micro-VM runner's work dirs, each a tmpfs mounted on
// its host dir (QEMU shares it by path); guarded by the runner's mu.
type vmWorkDirs map[string]*vmWorkDir

type vmWorkDir struct {
	dir  string
	size int64 // its tmpfs's size=, its share of the runner's total
	used time.Time
	runs int // commands using it now
}

func (v vmWorkDirs) count() int { return len(v) }

func (v vmWorkDirs) shares() []workShare {
	s := make([]workShare, 0, len(v))
	for _, w := range v {
		s = append(s, w)
	}
	return s
}

func (w *vmWorkDir) busy() bool     { return w.runs > 0 }
func (w *vmWorkDir) sizeNow() int64 { return w.size }
func (w *vmWorkDir) held() int64 {
	var st unix.Statfs_t
	if unix.Statfs(w.dir, &st) != nil {
		return w.size // unknown: assume it is full
	}
	return statfsUsed(&st)
}

func (w *vmWorkDir) setSize(size int64) error {
	if err := resizeTmpfs(unix.AT_FDCWD, w.dir, unix.FSPICK_NO_AUTOMOUNT, size); err != nil {
		return err
	}
	w.size = size
	return nil
}

func (v vmWorkDirs) evictIdle() bool {
	var victim string
	var oldest *vmWorkDir
	for dir, w := range v {
		if w.runs == 0 && (oldest == nil || w.used.Before(oldest.used)) {
			victim, oldest = dir, w
		}
	}
	if oldest == nil {
		return false
	}
	v.free(victim)
	return true
}

// sweep frees the work dirs unused for longer than ttl.
func (v vmWorkDirs) sweep(ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	for dir, w := range v {
		if w.runs == 0 && time.Since(w.used) > ttl {
			v.free(dir)
		}
	}
}

// free unmounts a work dir; what a task left there goes with its tmpfs.
func (v vmWorkDirs) free(dir string) {
	unix.Unmount(dir, unix.MNT_DETACH)
	os.RemoveAll(dir)
	delete(v, dir)
}

// workFull names the work dir budget a run exhausted, if any, and a note
// for its output naming the limit and the setting that raises it.
func (m *MicroVMRunner) workFull(dir string) (limit, note string) {
	m.mu.Lock()
	size := m.limits.WorkDirBytes
	if w, ok := m.mounts[dir]; ok {
		size = w.size
	}
	m.mu.Unlock()
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return "", ""
	}
	switch {
	case st.Files > 0 && st.Ffree == 0:
		return "work_dir_inodes", fmt.Sprintf("[amf: the work dir is full: its work_dir_inodes limit of %d files (work_dir.inodes) is reached]", m.limits.WorkDirInodes)
	case st.Blocks > 0 && st.Bavail == 0:
		return workFullNote(m.limits, size)
	}
	return "", ""
}

// lineSplitter turns a stream's chunks into lines for the output sink.
type lineSplitter struct {
	s    Stream
	sink *outputSink
	buf  []byte
}

func (l *lineSplitter) write(b []byte) {
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.sink.line(l.s, l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	for len(l.buf) >= maxLine {
		l.sink.line(l.s, l.buf[:maxLine])
		l.buf = l.buf[maxLine:]
	}
	l.buf = append([]byte(nil), l.buf...)
}

func (l *lineSplitter) flush() {
	if len(l.buf) > 0 {
		l.sink.line(l.s, l.buf)
		l.buf = nil
	}
}

// removeStaleGuests removes what the guests of runners whose process
// is gone (a crash) left, under guests/run-<pid>: a work dir still bound
// into a share is unbound first, so it is not deleted with the guest.
func removeStaleGuests(dir string) {
	runs, _ := os.ReadDir(dir)
	for _, r := range runs {
		pid, err := strconv.Atoi(strings.TrimPrefix(r.Name(), "run-"))
		if err != nil {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			continue
		}
		guests, _ := os.ReadDir(filepath.Join(dir, r.Name()))
		for _, g := range guests {
			sub := filepath.Join(dir, r.Name(), g.Name(), "share", "w")
			for unix.Unmount(sub, unix.MNT_DETACH) == nil {
			}
		}
		os.RemoveAll(filepath.Join(dir, r.Name()))
	}
}
