package sandbox

import (
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/amf-os/amf/sandbox/internal/child"
)

// Config configures a Runner. The zero value works: state under the
// system temporary directory, the built-in profiles, default limits.
type Config struct {
	// StateDir holds per-task work dirs (StateDir/sandbox/tasks/<id>) when a
	// Spec names none. Empty means the system temporary directory.
	StateDir string
	// DefaultProfile is used when a Spec names none; empty means the
	// profiles file's default (strict).
	DefaultProfile string
	// ProfilesFile is a profiles YAML file; empty means the built-in one.
	ProfilesFile string
	// Limits bounds every command; zero fields take DefaultLimits.
	Limits Limits
	// HostIDBase is the first host uid/gid of the range that ids inside
	// the sandbox map to when the runner is root. Zero means 1800000000.
	HostIDBase uint32
	// WarmInits is how many sandbox inits a root runner keeps started and
	// waiting, so a command does not wait for one to start. Zero means 2;
	// negative disables.
	WarmInits int
	// DNS is the resolver (an IPv4 address) that DNS queries from
	// sandboxes with network are sent to; empty means the first
	// nameserver of the host's /etc/resolv.conf. It may be on the host's
	// loopback.
	DNS string
	// Workspaces are host directories tasks may work in, declared by
	// the worker's flags beside the profiles file's (a name declared in
	// both takes these).
	Workspaces []Workspace
	// Mask adds host paths (globs) hidden from every command, beside
	// DefaultMasks and StateDir: credential files the worker's flags name.
	Mask []string
	// Hostname is the host name commands see under view host; empty
	// means this host's.
	Hostname string
	// MicroVM configures the micro-VM backend; other backends ignore
	// it.
	MicroVM MicroVMConfig
	// Logger receives warnings (unavailable limits, the unsafe backend).
	Logger *slog.Logger

	// selfInit starts the spawner and inits from this binary, as where
	// no sandbox program is embedded (tests of that path).
	selfInit bool
}

// Limits bound one command. Zero fields mean the default.
type Limits struct {
	// Timeout is the wall-clock limit when the Spec and the context set
	// none.
	Timeout time.Duration
	// CPUTime is the CPU time limit (RLIMIT_CPU).
	CPUTime time.Duration
	// Memory is the cgroup memory limit in bytes.
	Memory int64
	// AddressSpace is RLIMIT_AS in bytes, the fallback when no memory
	// cgroup is available.
	AddressSpace uint64
	// FileSize is RLIMIT_FSIZE in bytes.
	FileSize uint64
	// OpenFiles is RLIMIT_NOFILE.
	OpenFiles uint64
	// Processes caps the tasks of one command (pids cgroup and
	// RLIMIT_NPROC).
	Processes int64
	// CPUs is the cgroup CPU quota in cores.
	CPUs float64
	// Tmp is the size of the command's /tmp in bytes.
	Tmp int64
	// Output caps the bytes of output delivered per command.
	Output int
	// WorkDirBytes and WorkDirInodes are the budget of a work dir's own
	// file system (root runners); zero takes the profiles file's
	// work_dir section, then the defaults.
	WorkDirBytes  int64
	WorkDirInodes int64
	// WorkDirTTL is how long an unused work dir (a session's) is kept;
	// zero takes the profiles file's work_dir.idle_ttl.
	WorkDirTTL time.Duration
	// WorkDirMax and WorkDirTotal bound all work dirs of the runner
	// together (root runners): how many live at once and the bytes they
	// hold; zero takes work_dir.max_dirs and work_dir.total_mib.
	WorkDirMax   int
	WorkDirTotal int64
}

// DefaultLimits are the limits a zero Limits field takes.
var DefaultLimits = Limits{
	Timeout:       60 * time.Second,
	CPUTime:       60 * time.Second,
	Memory:        512 << 20,
	AddressSpace:  4 << 30,
	FileSize:      256 << 20,
	OpenFiles:     256,
	Processes:     128,
	CPUs:          1,
	Tmp:           child.DefaultTmp,
	Output:        1 << 20,
	WorkDirBytes:  1 << 30,
	WorkDirInodes: 100_000,
	WorkDirTTL:    24 * time.Hour,
	WorkDirMax:    64,
	WorkDirTotal:  4 << 30,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.Timeout > 0 {
		d.Timeout = l.Timeout
	}
	if l.CPUTime > 0 {
		d.CPUTime = l.CPUTime
	}
	if l.Memory > 0 {
		d.Memory = l.Memory
	}
	if l.AddressSpace > 0 {
		d.AddressSpace = l.AddressSpace
	}
	if l.FileSize > 0 {
		d.FileSize = l.FileSize
	}
	if l.OpenFiles > 0 {
		d.OpenFiles = l.OpenFiles
	}
	if l.Processes > 0 {
		d.Processes = l.Processes
	}
	if l.CPUs > 0 {
		d.CPUs = l.CPUs
	}
	if l.Tmp > 0 {
		d.Tmp = l.Tmp
	}
	if l.Output > 0 {
		d.Output = l.Output
	}
	if l.WorkDirBytes > 0 {
		d.WorkDirBytes = l.WorkDirBytes
	}
	if l.WorkDirInodes > 0 {
		d.WorkDirInodes = l.WorkDirInodes
	}
	if l.WorkDirTTL > 0 {
		d.WorkDirTTL = l.WorkDirTTL
	}
	if l.WorkDirMax > 0 {
		d.WorkDirMax = l.WorkDirMax
	}
	if l.WorkDirTotal > 0 {
		d.WorkDirTotal = l.WorkDirTotal
	}
	return d
}

func (c Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c Config) stateDir() string {
	if c.StateDir != "" {
		return c.StateDir
	}
	return filepath.Join(os.TempDir(), "amf-sandbox")
}
