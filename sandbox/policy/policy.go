// Package policy decides whether a shell command may run: it parses the
// command with a real shell parser and judges it against a named profile
// of security rules. It is pure Go with no Linux-only code, so the kernel
// and the bridge can check a command when it is submitted and the
// sandbox runners check it again on their way to running it.
package policy

import "errors"

// Sentinel errors; callers match them with errors.Is.
var (
	// ErrBadProfiles means a profiles file could not be used.
	ErrBadProfiles = errors.New("invalid sandbox profiles")
)

// The built-in profiles' names (profiles/profiles.yaml). Strict is the
// default and the profile every submitter may ask for; the others need a
// grant.
const (
	ProfileStrict  = "strict"
	ProfileNetwork = "network"
	ProfileTrusted = "trusted"
)

// InsideWorkDir is the work dir as a command sees it: the directory it
// starts in and its $HOME.
const InsideWorkDir = "/work"

// workDirInside is InsideWorkDir under the name the checker uses.
const workDirInside = InsideWorkDir

// MaxCommandBytes is the longest command the checker accepts.
const MaxCommandBytes = maxCommandBytes
