//go:build unix

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/amf-os/amf/sandbox/internal/child"
)

// HostRunner runs commands directly on the host, unconfined, after the
// same validation as the namespace backend. It exists for development
// on machines without namespaces and must never run untrusted commands.
type HostRunner struct {
	*base
}

var _ Runner = (*HostRunner)(nil)

// NewHost returns the unconfined backend. It logs a loud warning, since
// validation alone is not a security boundary.
func NewHost(cfg Config) (*HostRunner, error) {
	b, err := newBase(cfg)
	if err != nil {
		return nil, err
	}
	b.log.Warn("UNSAFE SANDBOX: the host backend runs commands unconfined, with the worker's own privileges; use it only for development")
	return &HostRunner{base: b}, nil
}

// Release removes a work dir once its task has ended.
func (h *HostRunner) Release(dir string) { os.RemoveAll(dir) }

// Name implements Runner.
func (h *HostRunner) Name() string { return "host" }

// Run implements Runner.
func (h *HostRunner) Run(ctx context.Context, spec Spec, out OutputFunc) (Result, error) {
	_, ws, err := h.admit(spec)
	if err != nil {
		return Result{}, err
	}
	dir, cleanup, err := h.workDir(spec)
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	ctx, cancel := h.timeout(ctx, spec)
	defer cancel()

	// Like the confined backend, a command sees none of the worker's
	// environment: no credentials, tokens or connection URLs leak in.
	env := hostEnv(dir, spec.Env)
	cwd := dir
	if ws != nil {
		cwd = ws.Path // unconfined: the workspace is the host directory itself
	}
	sink := newOutputSink(out, h.outputBudget(spec))
	stdout, stderr, drain, err := sink.pipes()
	if err != nil {
		return Result{}, err
	}
	start := stopwatch(time.Now())
	cmd, err := startHostCommand(spec.Command, env, cwd, stdout, stderr)
	stdout.Close()
	stderr.Close()
	if err != nil {
		drain(outputGrace)
		return Result{}, fmt.Errorf("%w: %v", ErrStart, err)
	}
	pgid := cmd.Process.Pid
	stop := killOnDone(ctx, func() { syscall.Kill(-pgid, syscall.SIGKILL) })
	werr := cmd.Wait()
	// Kill what the command left behind in its process group, so the
	// pipes close.
	syscall.Kill(-pgid, syscall.SIGKILL)
	timedOut := stop()
	res := resultFrom(cmd.ProcessState, start.elapsed())
	drain(outputGrace)
	res.TimedOut = timedOut
	if timedOut {
		res.LimitHit = "timeout"
	}
	res.Truncated, res.LateOutput = sink.finish()
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return res, fmt.Errorf("wait: %w", werr)
	}
	return res, nil
}

// startHostCommand starts command in its own process group: executed
// directly where bash would only execute it (policy.Direct), by bash
// otherwise, or where the program cannot be executed, so that the shell
// says why.
func startHostCommand(command string, env []string, cwd string, stdout, stderr *os.File) (*exec.Cmd, error) {
	shell := shellPath()
	if argv := directArgv(shell, command, env); argv != nil {
		// PWD is the directory as getcwd gives it, as bash finds it.
		if real, err := filepath.EvalSymlinks(cwd); err == nil {
			if prog, progEnv, ok := child.Direct(argv, env, real); ok {
				cmd := hostCommand(prog, argv, progEnv, cwd, stdout, stderr)
				if cmd.Start() == nil {
					return cmd, nil
				}
			}
		}
	}
	cmd := hostCommand(shell, child.ShellArgv(shell, command), env, cwd, stdout, stderr)
	return cmd, cmd.Start()
}

func hostCommand(prog string, argv, env []string, cwd string, stdout, stderr *os.File) *exec.Cmd {
	return &exec.Cmd{
		Path: prog, Args: argv, Env: env, Dir: cwd,
		Stdout: stdout, Stderr: stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
}

func resultFrom(ps *os.ProcessState, d time.Duration) Result {
	if ps == nil {
		return Result{Duration: d, ExitCode: -1}
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	var maxRSS int64
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		maxRSS = ru.Maxrss
	}
	return statusResult(ws, maxRSS, d)
}

// statusResult also serves commands another process reaped and reported.
func statusResult(ws syscall.WaitStatus, maxRSS int64, d time.Duration) Result {
	res := Result{Duration: d, ExitCode: -1, PeakMemKB: maxRSS}
	switch {
	case ws.Exited():
		res.ExitCode = ws.ExitStatus()
	case ws.Signaled():
		res.Signal = ws.Signal().String()
		res.ExitCode = 128 + int(ws.Signal())
	}
	return res
}

// hostEnv is the whole environment of a host-backend command: the same
// fixed base as a confined command, with HOME at its work dir.
func hostEnv(dir string, extra []string) []string {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + dir,
		"LANG=C.UTF-8",
		"TERM=dumb",
		"TMPDIR=" + os.TempDir(),
	}
	return append(env, extra...)
}

// shellPath is bash, the grammar the validator parses, or sh without it.
func shellPath() string {
	for _, p := range []string{"/bin/bash", "/usr/bin/bash", "/bin/sh"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/bin/sh"
}

// Offer says what the runner serves; see Offer.
func (h *HostRunner) Offer() Offer { return h.offer(h.Name()) }
