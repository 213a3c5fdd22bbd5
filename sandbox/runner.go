// Package sandbox decides whether a shell command may run and runs it
// confined. It owns validation (a real shell parser plus a security policy)
// and execution backends; it knows nothing of NATS or tasks, so it can be
// used, tested and benchmarked on its own.
package sandbox

import (
	"context"
	"time"
)

// Stream says which output stream a line came from.
type Stream int

// Output streams.
const (
	Stdout Stream = iota + 1
	Stderr
)

func (s Stream) String() string {
	if s == Stderr {
		return "stderr"
	}
	return "stdout"
}

// OutputFunc receives the command's output line by line, as it is
// produced. It is called from one goroutine at a time.
type OutputFunc func(s Stream, line string)

// Spec is one command to run.
type Spec struct {
	// Command is a shell command line, run by bash -c (the grammar the
	// validator parses), or /bin/sh -c where bash is missing.
	Command string
	// WorkDir is the host directory the command sees as its work dir;
	// created when missing. Empty means a fresh temporary directory.
	WorkDir string
	// Env is extra environment, KEY=VALUE.
	Env []string
	// Timeout is the wall-clock limit; zero means the context's deadline.
	Timeout time.Duration
	// Profile names the policy profile; empty means the runner's default.
	Profile string
	// Workspace names a declared workspace the command runs in (its
	// working directory, at the same path as on the host); the profile
	// must allow it.
	Workspace string
	// MaxOutput caps the bytes delivered to OutputFunc; zero is a default.
	MaxOutput int
}

// Result is the outcome of one run.
type Result struct {
	ExitCode  int
	Signal    string
	Duration  time.Duration
	PeakMemKB int64
	// LimitHit names the limit that stopped the command, if any.
	LimitHit  string
	TimedOut  bool
	Truncated bool
	// LateOutput counts the bytes of output that arrived after the
	// command's process tree had ended (through a descriptor another
	// process held); they are dropped.
	LateOutput int64
	// Unenforced names the limits this host could not apply (cgroup
	// controllers it lacks); rlimits still bound the command.
	Unenforced []string
}

// Runner validates and runs commands. Run returns a *Refusal error when
// validation rejects the command; any other error means the command could
// not be started or supervised. A command that runs and fails is not an
// error: its Result says how it ended.
type Runner interface {
	Run(ctx context.Context, spec Spec, out OutputFunc) (Result, error)
	// Name says which backend this is ("namespace", "host").
	Name() string
}
