package sandbox

import (
	"errors"

	"github.com/amf-os/amf/sandbox/policy"
)

// Sentinel errors; callers match them with errors.Is.
var (
	// ErrBadProfiles means a profiles file could not be used.
	ErrBadProfiles = policy.ErrBadProfiles
	// ErrUnsupported means this host cannot run the namespace backend.
	ErrUnsupported = errors.New("sandbox not supported on this host")
	// ErrStart means a confined command could not be started.
	ErrStart = errors.New("start sandboxed command")
	// ErrWorkDirBudget means the runner's work dirs together are at
	// their limit (work_dir.max_dirs or work_dir.total_mib) and none is
	// idle to free.
	ErrWorkDirBudget = errors.New("work dir budget spent")
)
