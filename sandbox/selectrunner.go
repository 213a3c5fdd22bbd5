package sandbox

import (
	"context"
	"fmt"
	"io"
)

// Select runs each command in the backend its profile names (a
// profile's backend key), and in Default when the profile names none.
// Validation and the facts told to the model are the policy's, shared
// by every backend.
type Select struct {
	*base
	// Default runs the commands of profiles that name no backend.
	Default Runner
	// By maps a backend name to its runner.
	By map[string]Runner
}

var _ Runner = (*Select)(nil)

// NewSelect returns a runner that routes by profile. Every backend a
// profile of cfg's policy names must be in by.
func NewSelect(cfg Config, def Runner, by map[string]Runner) (*Select, error) {
	b, err := newBase(cfg)
	if err != nil {
		return nil, err
	}
	for _, name := range b.policy.Backends() {
		if by[name] == nil && def.Name() != name {
			return nil, fmt.Errorf("%w: a profile runs in the %s backend, which this runner lacks", ErrBadProfiles, name)
		}
	}
	return &Select{base: b, Default: def, By: by}, nil
}

// Name implements Runner: the default backend's name.
func (s *Select) Name() string { return s.Default.Name() }

// pick returns the runner of a profile's backend.
func (s *Select) pick(profile string) (Runner, error) {
	if profile == "" {
		profile = s.cfg.DefaultProfile
	}
	p, err := s.policy.Profile(profile)
	if err != nil {
		return nil, err
	}
	if r := s.By[p.Backend]; r != nil {
		return r, nil
	}
	return s.Default, nil
}

// ValidateEnv checks with the runner that will run the command, so that
// its Run admits the command without checking it again.
func (s *Select) ValidateEnv(command, profile string, env []string) error {
	return s.ValidateIn(command, profile, "", env)
}

// ValidateIn checks with the runner that will run the command, in the
// workspace the task names, so that its Run admits the command without
// checking it again.
func (s *Select) ValidateIn(command, profile, workspace string, env []string) error {
	if profile == "" {
		profile = s.cfg.DefaultProfile
	}
	r, err := s.pick(profile)
	if err != nil {
		return err
	}
	if v, ok := r.(interface {
		ValidateIn(command, profile, workspace string, env []string) error
	}); ok {
		return v.ValidateIn(command, profile, workspace, env)
	}
	return s.base.ValidateIn(command, profile, workspace, env)
}

// Run implements Runner.
func (s *Select) Run(ctx context.Context, spec Spec, out OutputFunc) (Result, error) {
	name := spec.Profile
	if name == "" {
		name = s.cfg.DefaultProfile
	}
	p, err := s.policy.Profile(name)
	if err != nil {
		return Result{}, err
	}
	if r := s.By[p.Backend]; r != nil {
		return r.Run(ctx, spec, out)
	}
	return s.Default.Run(ctx, spec, out)
}

// Release frees a work dir in every backend that holds work dirs.
func (s *Select) Release(dir string) {
	for _, r := range s.runners() {
		if rel, ok := r.(interface{ Release(string) }); ok {
			rel.Release(dir)
		}
	}
}

// Close closes every backend.
func (s *Select) Close() error {
	for _, r := range s.runners() {
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
	}
	return nil
}

func (s *Select) runners() []Runner {
	out := []Runner{s.Default}
	for _, r := range s.By {
		if r != s.Default {
			out = append(out, r)
		}
	}
	return out
}
