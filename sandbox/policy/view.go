package policy

import (
	"fmt"
	"slices"
	"strings"
)

// View is what a profile's commands see of the host: the root file
// system (view), the processes (pids), the operator's workspaces they may
// work in and extra paths hidden from them (mask). It is embedded in
// Profile, so its keys sit beside the profile's rules in profiles.yaml.
type View struct {
	// View is "minimal" (a root of system directories only; the default)
	// or "host" (the host's root, read-only, minus the masked paths).
	View string `yaml:"view"`
	// Pids is "own" (the command sees only its own processes; the
	// default) or "host" (ps and top see the host's, read-only).
	Pids string `yaml:"pids"`
	// Workspaces names the declared workspaces a task of this profile
	// may name; "*" allows every declared one.
	Workspaces []string `yaml:"workspaces"`
	// Mask adds paths (shell globs, absolute) to the ones hidden from
	// every command (DefaultMasks).
	Mask []string `yaml:"mask"`
}

// View and pids values.
const (
	ViewMinimal = "minimal"
	ViewHost    = "host"
	PidsOwn     = "own"
	PidsHost    = "host"
)

// HostView reports whether commands see the host's root file system.
func (v View) HostView() bool { return v.View == ViewHost }

// HostPids reports whether commands see the host's processes.
func (v View) HostPids() bool { return v.Pids == PidsHost }

// AllowsWorkspace reports whether a task of this profile may name the
// workspace.
func (v View) AllowsWorkspace(name string) bool {
	return slices.Contains(v.Workspaces, "*") || slices.Contains(v.Workspaces, name)
}

// Plain reports whether the view is the minimal one with nothing of the
// host in it, the one warm inits are built for.
func (v View) Plain() bool { return !v.HostView() && !v.HostPids() }

// checkView validates a profile's view keys; a typo is an error, never
// a silent fallback to a wider or narrower view.
func checkView(name string, v *View) error {
	switch v.View {
	case "":
		v.View = ViewMinimal
	case ViewMinimal, ViewHost:
	default:
		return fmt.Errorf("%w: profile %q: unknown view %q: use minimal or host", ErrBadProfiles, name, v.View)
	}
	switch v.Pids {
	case "":
		v.Pids = PidsOwn
	case PidsOwn, PidsHost:
	default:
		return fmt.Errorf("%w: profile %q: unknown pids %q: use own or host", ErrBadProfiles, name, v.Pids)
	}
	for _, w := range v.Workspaces {
		if w != "*" {
			if err := checkWorkspaceName(w); err != nil {
				return fmt.Errorf("%w: profile %q: %v", ErrBadProfiles, name, err)
			}
		}
	}
	for _, m := range v.Mask {
		if err := checkMaskPattern(m); err != nil {
			return fmt.Errorf("%w: profile %q: %v", ErrBadProfiles, name, err)
		}
	}
	return nil
}

// DescribeView says in one line what a profile's commands see.
func DescribeView(v View) string {
	var b strings.Builder
	if v.HostView() {
		b.WriteString("this machine's files, read-only (secrets such as /etc/shadow, /root and ~/.ssh are masked and look empty)")
	} else {
		b.WriteString("a minimal root (system directories only)")
	}
	if v.HostPids() {
		b.WriteString(", this machine's processes, which it may see but not signal or trace")
	} else {
		b.WriteString(", its own processes only")
	}
	return b.String()
}
