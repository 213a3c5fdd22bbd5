package child

import (
	"io"
	"os"
)

// init takes over the process when the sandbox started it in one of its
// roles, before the packages it does not import are initialised; each
// role ends the process and never returns. Any other start returns at
// once.
func init() {
	maybeSpawner()
	maybeIdmapHolder()
	maybeInit()
}

// The init protocol (see init_linux.go and spawner_linux.go).
const (
	InitEnv     = initEnv
	InitArg0    = initArg0
	ReadyByte   = readyByte
	EnvTmp      = envTmp
	EnvDNS      = envDNS
	EnvWorkPath = envWorkPath
	EnvView     = envView
	EnvEtc      = envEtc
	SpawnerEnv  = spawnerEnv
	SpawnerArg0 = spawnerArg0
	IdmapEnv    = idmapEnv
	IdmapArg0   = idmapArg0
)

type (
	// Task is the per-command part of an init's instructions.
	Task = taskConfig
	// Rlimit is one resource limit of a task.
	Rlimit = rlimit
	// View is the part of what a command sees that its init builds
	// before the task is known.
	View = viewConfig
	// SpawnRequest asks the spawner for an init.
	SpawnRequest = spawnRequest
	// SpawnReport is the spawner's answer about one init.
	SpawnReport = spawnReport
)

var (
	// Rights returns the descriptors attached to a message.
	Rights = rights
	// OpenWorkspaceDir opens a workspace without following symlinks.
	OpenWorkspaceDir = openWorkspaceDir
	// HostOwn are the top-level directories a host view makes its own.
	HostOwn = hostOwn
	// ShellBase is the name a shell is started under.
	ShellBase = shellBase
)

// An id-mapped mount needs a user namespace that says how to map; a
// process is started in a new one with that mapping only to open it, the
// way the kernel wants (a multi-threaded process cannot unshare one). It
// is this binary, re-executed, that waits for its stdin to close.
const (
	idmapEnv  = "AMF_SANDBOX_IDMAP"
	idmapArg0 = "amf-sandbox-idmap"
)

// maybeIdmapHolder is the body of that process: hold the namespace
// until the runner has opened it.
func maybeIdmapHolder() {
	if os.Getenv(idmapEnv) != "1" || len(os.Args) == 0 || os.Args[0] != idmapArg0 {
		return
	}
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}
