package child

// The names the init shares with the rest of the sandbox; tests in
// package sandbox hold them equal to the policy's and the limits'.
const (
	// WorkDir is the command's work dir inside the sandbox.
	WorkDir = "/work"
	// Hostname is the sandbox's host name unless a view names another.
	Hostname = "amf-sandbox"
	// User and UID are the command's user inside the sandbox.
	User = "amf"
	UID  = 1000
	// MaxCommandBytes bounds the command of a task message.
	MaxCommandBytes = 64 << 10
	// DefaultTmp is the size of /tmp when the runner names none.
	DefaultTmp = 64 << 20

	workDirInside   = WorkDir
	sandboxHost     = Hostname
	sandboxUser     = User
	sandboxUID      = UID
	maxCommandBytes = MaxCommandBytes
)
