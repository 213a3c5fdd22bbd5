package policy

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Workspace is a host directory the operator declares for tasks to work
// in: mounted at the same path inside the sandbox and used as the
// command's working directory; with mode rw, what the command writes
// there lands on the host, owned by the directory's owner.
type Workspace struct {
	Name string `yaml:"-"`
	// Path is the absolute host path of the directory.
	Path string `yaml:"path"`
	// Mode is "ro" (the default) or "rw".
	Mode string `yaml:"mode"`
}

// Workspace modes.
const (
	WorkspaceRO = "ro"
	WorkspaceRW = "rw"
)

// Writable reports whether commands may write in the workspace.
func (w Workspace) Writable() bool { return w.Mode == WorkspaceRW }

// String is the flag form, NAME=PATH:MODE.
func (w Workspace) String() string { return w.Name + "=" + w.Path + ":" + w.Mode }

var workspaceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func checkWorkspaceName(n string) error {
	if !workspaceName.MatchString(n) {
		return fmt.Errorf("workspace name %q: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)", n)
	}
	return nil
}

// Check validates and normalises a declared workspace.
func (w *Workspace) Check() error {
	if err := checkWorkspaceName(w.Name); err != nil {
		return err
	}
	if w.Path == "" || !path.IsAbs(w.Path) {
		return fmt.Errorf("workspace %q: path %q must be absolute", w.Name, w.Path)
	}
	if c := path.Clean(w.Path); c == "/" {
		return fmt.Errorf("workspace %q: the host root cannot be a workspace; declare the directory to work in", w.Name)
	} else {
		w.Path = c
	}
	switch w.Mode {
	case "":
		w.Mode = WorkspaceRO
	case WorkspaceRO, WorkspaceRW:
	default:
		return fmt.Errorf("workspace %q: unknown mode %q: use ro or rw", w.Name, w.Mode)
	}
	return nil
}

// ParseWorkspace reads the flag form NAME=PATH[:ro|:rw] (read-only when
// the mode is left out).
func ParseWorkspace(s string) (Workspace, error) {
	name, p, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok {
		return Workspace{}, fmt.Errorf("workspace %q: use NAME=PATH[:ro|:rw]", s)
	}
	w := Workspace{Name: name, Path: p}
	if i := strings.LastIndexByte(p, ':'); i >= 0 {
		switch p[i+1:] {
		case WorkspaceRO, WorkspaceRW:
			w.Path, w.Mode = p[:i], p[i+1:]
		default:
			return Workspace{}, fmt.Errorf("workspace %q: unknown mode %q: use NAME=PATH[:ro|:rw]", s, p[i+1:])
		}
	}
	if err := w.Check(); err != nil {
		return Workspace{}, err
	}
	return w, nil
}

// ParseWorkspaces reads a comma-separated list of the flag form, as
// AMF_WORKSPACES holds it.
func ParseWorkspaces(s string) ([]Workspace, error) {
	var out []Workspace
	for _, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		w, err := ParseWorkspace(item)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// WorkspaceSet is the declared workspaces by name.
type WorkspaceSet map[string]Workspace

// checkWorkspaces validates a profiles file's workspaces section.
func checkWorkspaces(set map[string]*Workspace) (WorkspaceSet, error) {
	out := WorkspaceSet{}
	for name, w := range set {
		if w == nil {
			return nil, fmt.Errorf("%w: workspace %q is empty: give it a path", ErrBadProfiles, name)
		}
		w.Name = name
		if err := w.Check(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadProfiles, err)
		}
		out[name] = *w
	}
	return out, nil
}

// With returns the set plus ws; a later declaration of a name wins, so
// the worker's flags override the profiles file.
func (s WorkspaceSet) With(ws []Workspace) WorkspaceSet {
	out := make(WorkspaceSet, len(s)+len(ws))
	for k, v := range s {
		out[k] = v
	}
	for _, w := range ws {
		out[w.Name] = w
	}
	return out
}

// Names lists the declared workspaces, sorted.
func (s WorkspaceSet) Names() []string {
	n := make([]string, 0, len(s))
	for k := range s {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// RuleWorkspace is the rule a refusal names when a task's workspace is
// unknown or not allowed to its profile.
const RuleWorkspace = "workspace"

// Resolve returns the workspace a task names under a profile, or a
// refusal that names the workspaces there are.
func (s WorkspaceSet) Resolve(name string, p *Profile) (*Workspace, error) {
	if name == "" {
		return nil, nil
	}
	w, ok := s[name]
	if !ok {
		known := "none are declared (profiles.yaml workspaces, or the worker's --workspace NAME=PATH[:ro|:rw])"
		if len(s) > 0 {
			known = "declared workspaces: " + strings.Join(s.Names(), ", ")
		}
		return nil, &Refusal{Rule: RuleWorkspace, Reason: fmt.Sprintf("unknown workspace %q; %s", name, known)}
	}
	if !p.AllowsWorkspace(name) {
		allowed := "none"
		if len(p.Workspaces) > 0 {
			allowed = strings.Join(p.Workspaces, ", ")
		}
		return nil, &Refusal{Rule: RuleWorkspace, Reason: fmt.Sprintf("profile %q may not use workspace %q (it allows: %s); use a profile that lists it, such as workspace", p.Name, name, allowed)}
	}
	return &w, nil
}
