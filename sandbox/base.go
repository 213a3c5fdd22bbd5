package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// base is what every backend shares: the policy, the limits and the
// per-task work dirs.
type base struct {
	cfg    Config
	policy *Policy
	limits Limits
	log    *slog.Logger
	// checked are commands Validate or ValidateEnv passed that Run has
	// not yet admitted (see checked.go).
	checked checkedCommands
	// workspaces are the declared ones: the profiles file's and the
	// Config's (flags win); see scope.go.
	workspaces WorkspaceSet
}

func newBase(cfg Config) (*base, error) {
	pol, err := LoadPolicy(cfg.ProfilesFile)
	if err != nil {
		return nil, err
	}
	if cfg.DefaultProfile != "" {
		if _, err := pol.Profile(cfg.DefaultProfile); err != nil {
			return nil, fmt.Errorf("%w: default profile %q is not defined", ErrBadProfiles, cfg.DefaultProfile)
		}
	}
	lim := cfg.Limits
	if lim.WorkDirBytes == 0 {
		lim.WorkDirBytes = pol.WorkDir.SizeMiB << 20
	}
	if lim.WorkDirInodes == 0 {
		lim.WorkDirInodes = pol.WorkDir.Inodes
	}
	if lim.WorkDirTTL == 0 {
		lim.WorkDirTTL = pol.WorkDir.IdleTTL
	}
	if lim.WorkDirMax == 0 {
		lim.WorkDirMax = pol.WorkDir.MaxDirs
	}
	if lim.WorkDirTotal == 0 {
		lim.WorkDirTotal = pol.WorkDir.TotalMiB << 20
	}
	b := &base{cfg: cfg, policy: pol, limits: lim.withDefaults(), log: cfg.logger()}
	if err := b.declareWorkspaces(); err != nil {
		return nil, err
	}
	return b, nil
}

// Validate checks a command against a profile of this runner's policy,
// as it would run in no workspace.
func (b *base) Validate(command, profile string) error {
	return b.ValidateIn(command, profile, "", nil)
}

// ValidateEnv checks a command as it will run with a task's env set, in
// no workspace.
func (b *base) ValidateEnv(command, profile string, env []string) error {
	return b.ValidateIn(command, profile, "", env)
}

// ValidateIn checks a command as it will run: with a task's env set, in
// the workspace it names (empty: none), judged against what the command
// will see there (scopeFor). A passing check is remembered, so Run does
// not check the same command again.
func (b *base) ValidateIn(command, profile, workspace string, env []string) error {
	if profile == "" {
		profile = b.cfg.DefaultProfile
	}
	p, err := b.policy.Profile(profile)
	if err != nil {
		return err
	}
	ws, err := b.workspaces.Resolve(workspace, p)
	if err != nil {
		return err
	}
	if err := p.Check(command, env, b.scopeFor(p, ws)); err != nil {
		return err
	}
	b.checked.add(keyOf(command, profile, workspace, env))
	return nil
}

// Describe tells what a command will find in the sandbox under profile.
func (b *base) Describe(profile string) (Facts, error) {
	if profile == "" {
		profile = b.cfg.DefaultProfile
	}
	return describe(b.policy, profile)
}

// admit resolves a command's profile and workspace and checks the
// command in the scope they give it, unless this runner's own check just
// passed it (ValidateIn).
func (b *base) admit(spec Spec) (*Profile, *Workspace, error) {
	name := b.profileName(spec)
	p, err := b.policy.Profile(name)
	if err != nil {
		return nil, nil, err
	}
	ws, err := b.workspaces.Resolve(spec.Workspace, p)
	if err != nil {
		return nil, nil, err
	}
	if b.checked.take(keyOf(spec.Command, name, spec.Workspace, spec.Env)) {
		return p, ws, nil // checked a moment ago by this runner's ValidateIn
	}
	if err := p.Check(spec.Command, spec.Env, b.scopeFor(p, ws)); err != nil {
		return nil, nil, err
	}
	return p, ws, nil
}

// profileName is the profile a Spec runs under.
func (b *base) profileName(spec Spec) string {
	if spec.Profile == "" {
		return b.cfg.DefaultProfile
	}
	return spec.Profile
}

// workDir returns the host directory of a task's work dir and a cleanup
// that removes it when the runner made it.
func (b *base) workDir(spec Spec) (string, func(), error) {
	if spec.WorkDir != "" {
		if err := os.MkdirAll(spec.WorkDir, 0o755); err != nil {
			return "", nil, fmt.Errorf("create work dir: %w", err)
		}
		return spec.WorkDir, func() {}, nil
	}
	root := filepath.Join(b.cfg.stateDir(), "sandbox", "tasks")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", nil, fmt.Errorf("create task dir: %w", err)
	}
	dir := filepath.Join(root, newID())
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("create work dir: %w", err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

func (b *base) timeout(ctx context.Context, spec Spec) (context.Context, context.CancelFunc) {
	d := spec.Timeout
	if d <= 0 {
		if _, ok := ctx.Deadline(); ok {
			return context.WithCancel(ctx)
		}
		d = b.limits.Timeout
	}
	return context.WithTimeout(ctx, d)
}

func (b *base) outputBudget(spec Spec) int {
	if spec.MaxOutput > 0 {
		return spec.MaxOutput
	}
	return b.limits.Output
}

// killOnDone calls kill if ctx ends before the returned stop is called;
// stop reports whether it was the deadline that ended it.
func killOnDone(ctx context.Context, kill func()) (stop func() (timedOut bool)) {
	done := make(chan struct{})
	result := make(chan bool, 1)
	go func() {
		select {
		case <-ctx.Done():
			kill()
			result <- errors.Is(ctx.Err(), context.DeadlineExceeded)
		case <-done:
			result <- false
		}
	}()
	return func() bool {
		close(done)
		return <-result
	}
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sinceStart measures a run.
type stopwatch time.Time

func (s stopwatch) elapsed() time.Duration { return time.Since(time.Time(s)) }
