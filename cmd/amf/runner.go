package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/amf-os/amf/sandbox"
)

// sandboxFlags choose and configure the execution backend.
type sandboxFlags struct {
	backend  string
	profiles string
	profile  string
	accel    string
	// oneShot runs a single command: no pre-started inits.
	oneShot bool
	// workspaces are host directories tasks may work in.
	workspaces workspaceFlag
}

func (s *sandboxFlags) bind(f flags) {
	f.str(&s.backend, "sandbox", "AMF_SANDBOX", "namespace", "execution backend: namespace, microvm (a QEMU micro-VM per command: a guest kernel between command and host), or host (UNSAFE: no confinement, development only)")
	f.str(&s.accel, "microvm-accel", "AMF_MICROVM_ACCEL", "auto", "microvm acceleration: kvm, tcg (software emulation), or auto (a probe boot under KVM, else TCG)")
	f.str(&s.profiles, "profiles", "AMF_PROFILES", "", "policy profiles YAML file (default: the built-in sandbox/policy/profiles/profiles.yaml)")
	f.str(&s.profile, "profile", "AMF_PROFILE", "", "policy profile (strict, network, trusted, observe, workspace) of tasks that name none (default: the file's default, strict; observe on amf up)")
	f.workspaces(&s.workspaces, "a host directory tasks may work in, NAME=PATH[:ro|:rw] (read-only by default; repeat the flag for more); a task names it with \"workspace\"")
}

// runner builds the backend; close releases what it keeps ready (the
// namespace backend's pre-started inits). secrets are files the process
// authenticates with outside its state dir (secretFiles).
func (s *sandboxFlags) runner(stateDir string, secrets []string, log *slog.Logger) (r sandbox.Runner, close func(), err error) {
	cfg := sandbox.Config{
		StateDir:       filepath.Join(stateDir, "sandbox"),
		ProfilesFile:   s.profiles,
		DefaultProfile: s.profile,
		Logger:         log,
		Workspaces:     s.workspaces.list,
		// The whole state dir (credentials, tokens, the store) and the
		// credentials kept elsewhere are hidden from commands that see
		// the host.
		Mask: masksOf(append([]string{stateDir}, secrets...)...),
	}
	cfg.MicroVM.Accel = s.accel
	if s.oneShot {
		cfg.WarmInits = -1
		cfg.MicroVM.WarmGuests = -1
	}
	r, close, err = s.backendRunner(s.backend, cfg)
	if err != nil {
		return nil, nil, err
	}
	// Profiles may name a backend of their own (backend: microvm): their
	// commands run there, the rest in the chosen one.
	pol, err := sandbox.LoadPolicy(s.profiles)
	if err != nil {
		close()
		return nil, nil, err
	}
	by := map[string]sandbox.Runner{}
	closers := []func(){close}
	for _, name := range pol.Backends() {
		if name == r.Name() {
			continue
		}
		br, bclose, err := s.backendRunner(name, cfg)
		if err != nil {
			for _, c := range closers {
				c()
			}
			return nil, nil, fmt.Errorf("a profile runs in the %s backend: %w", name, err)
		}
		by[name], closers = br, append(closers, bclose)
	}
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	if len(by) == 0 {
		return r, closeAll, nil
	}
	sel, err := sandbox.NewSelect(cfg, r, by)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return sel, closeAll, nil
}

// backendRunner builds one backend by name.
func (s *sandboxFlags) backendRunner(backend string, cfg sandbox.Config) (sandbox.Runner, func(), error) {
	switch backend {
	case "namespace", "":
		nr, err := sandbox.New(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("sandbox: %w (run as root or enable user namespaces; --sandbox host runs unconfined for development)", err)
		}
		return nr, func() { _ = nr.Close() }, nil
	case "microvm":
		mr, err := sandbox.NewMicroVM(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("sandbox: %w", err)
		}
		return mr, func() { _ = mr.Close() }, nil
	case "host":
		hr, err := sandbox.NewHost(cfg)
		if err != nil {
			return nil, nil, err
		}
		return hr, func() {}, nil
	}
	return nil, nil, fmt.Errorf("unknown sandbox backend %q: use namespace, microvm, or host (unsafe, development only)", backend)
}
