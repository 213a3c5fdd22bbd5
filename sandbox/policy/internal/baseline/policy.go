// Package baseline is the command checker as it was before the operand
// table (sandbox/policy at the commit that moved it there), kept only so
// that BenchmarkValidate can measure the current checker beside it in
// the same run. Nothing else may import it.
package baseline

import "errors"

// Sentinel errors; callers match them with errors.Is.
var (
	// ErrBadProfiles means a profiles file could not be used.
	ErrBadProfiles = errors.New("invalid sandbox profiles")
)

// InsideWorkDir is the work dir as a command sees it: the directory it
// starts in and its $HOME.
const InsideWorkDir = "/work"

// workDirInside is InsideWorkDir under the name the checker uses.
const workDirInside = InsideWorkDir

// MaxCommandBytes is the longest command the checker accepts.
const MaxCommandBytes = maxCommandBytes
