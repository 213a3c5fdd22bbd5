package sandbox

import (
	"github.com/amf-os/amf/sandbox/internal/child"
	"github.com/amf-os/amf/sandbox/microvm"
)

// The processes this package starts from its own binary (the spawner,
// each command's init, the id-map holder) run the code of package child,
// which takes them over while the program initialises, before the
// packages they do not need; these are the names of the protocol with
// them.
const (
	initEnv     = child.InitEnv
	initArg0    = child.InitArg0
	readyByte   = child.ReadyByte
	envTmp      = child.EnvTmp
	envDNS      = child.EnvDNS
	envWorkPath = child.EnvWorkPath
	envView     = child.EnvView
	envEtc      = child.EnvEtc
	spawnerEnv  = child.SpawnerEnv
	spawnerArg0 = child.SpawnerArg0
	idmapEnv    = child.IdmapEnv
	idmapArg0   = child.IdmapArg0
)

type (
	taskConfig   = child.Task
	rlimit       = child.Rlimit
	spawnRequest = child.SpawnRequest
	spawnReport  = child.SpawnReport
)

var (
	rights           = child.Rights
	openWorkspaceDir = child.OpenWorkspaceDir
	hostOwn          = child.HostOwn
	shellBase        = child.ShellBase
)

// viewConfig is what an init builds before the task is known (the
// part it is sent), with what only the runner needs.
type viewConfig struct {
	child.View
	// hostUID, runAs: the host uid the command runs as and its id in
	// the sandbox (see hostUIDs; the init never sees them).
	hostUID uint32
	runAs   int
}

func (v viewConfig) zero() bool { return v == viewConfig{} }

// MaybeInit runs a micro-VM guest's agent when this process is one, and
// never returns then; otherwise it returns at once. Every binary that
// runs confined commands calls it first thing in main (and test binaries
// in TestMain). The namespace backend's processes (the spawner, the
// inits, the id-map holder) never get here: package child takes them
// over while the program initialises.
func MaybeInit() {
	microvm.MaybeGuest()
}
