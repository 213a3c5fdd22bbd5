package sandbox

import (
	"fmt"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// declareWorkspaces merges the Config's workspaces over the profiles
// file's.
func (b *base) declareWorkspaces() error {
	for i := range b.cfg.Workspaces {
		w := b.cfg.Workspaces[i]
		if err := w.Check(); err != nil {
			return fmt.Errorf("%w: %v", ErrBadProfiles, err)
		}
		b.cfg.Workspaces[i] = w
	}
	b.workspaces = b.policy.Workspaces().With(b.cfg.Workspaces)
	return b.checkWorkspaceLayout()
}

// checkWorkspaceLayout refuses workspaces whose layout would let a
// command undo the view: one inside another (a command in the outer one
// could replace the inner directory), and a writable one that holds, or
// could come to hold, a masked path (a command could rename a masked
// file's parent, or create .ssh/authorized_keys in a home, and masks
// are applied by path when each command starts). A masked path is any
// the masks of this runner or of any of its profiles may match.
func (b *base) checkWorkspaceLayout() error {
	names := b.workspaces.Names()
	for i, n := range names {
		w := b.workspaces[n]
		for _, m := range names[i+1:] {
			o := b.workspaces[m]
			if under(w.Path, o.Path) || under(o.Path, w.Path) {
				return fmt.Errorf("%w: workspaces %q (%s) and %q (%s) overlap: a command in one could replace the other's directory; declare directories that do not contain each other", ErrBadProfiles, n, w.Path, m, o.Path)
			}
		}
		if !w.Writable() {
			continue
		}
		masks := []string{b.cfg.stateDir()}
		masks = append(masks, b.cfg.Mask...)
		for _, pn := range b.policy.Names() {
			if p, err := b.policy.Profile(pn); err == nil {
				masks = append(masks, p.Mask...)
			}
		}
		for _, m := range ExpandMasks(DefaultMasks, masks) {
			if maskMeets(m, w.Path) {
				return fmt.Errorf("%w: workspace %q (%s) is writable and may hold a masked path (%s): a command there could move a secret out from under its mask or plant one (such as ~/.ssh/authorized_keys); declare it :ro, or a directory that holds no home, secret or AMF state", ErrBadProfiles, n, w.Path, m)
			}
		}
	}
	return nil
}

// under reports whether p is dir or lies inside it (both clean, absolute).
func under(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// maskMeets reports whether the mask pattern could match dir, a path
// above dir, or a path below it: each of the shorter one's components
// matches the other's.
func maskMeets(pattern, dir string) bool {
	pc := strings.Split(strings.Trim(pattern, "/"), "/")
	dc := strings.Split(strings.Trim(dir, "/"), "/")
	for i := 0; i < len(pc) && i < len(dc); i++ {
		if ok, _ := path.Match(pc[i], dc[i]); !ok {
			return false
		}
	}
	return true
}

// Workspaces lists the declared workspaces (the profiles file's and the
// Config's), sorted by name.
func (b *base) Workspaces() []Workspace {
	out := make([]Workspace, 0, len(b.workspaces))
	for _, n := range b.workspaces.Names() {
		out = append(out, b.workspaces[n])
	}
	return out
}

// CheckWorkspace says whether a task may name the workspace under the
// profile (empty: the default): nil, or a *Refusal naming the
// workspaces there are or the profile's. An empty workspace is fine.
func (b *base) CheckWorkspace(profile, workspace string) error {
	if workspace == "" {
		return nil
	}
	if profile == "" {
		profile = b.cfg.DefaultProfile
	}
	p, err := b.policy.Profile(profile)
	if err != nil {
		return err
	}
	_, err = b.workspaces.Resolve(workspace, p)
	return err
}

// masks are the patterns hidden from a profile's commands: the defaults,
// the runner's state dir, the Config's and the profile's additions.
func (b *base) masks(p *Profile) []string {
	return memoMasks(DefaultMasks, []string{b.cfg.stateDir()}, b.cfg.Mask, p.Mask)
}

// scopeFor is the one description of what a command under profile p,
// in workspace ws (nil: none), can see and change, as the confinement
// builds it; the policy checker judges the command's paths against the
// same description (ValidateIn, admit). HostView: the host's root is
// readable; WorkDir: the command's working directory inside the sandbox;
// Writable: where writes can land (the work dir, /tmp, /dev/shm, a rw
// workspace); Masked: glob patterns of paths that look empty or absent.
func (b *base) scopeFor(p *Profile, ws *Workspace) Scope {
	sc := Scope{HostView: p.HostView(), WorkDir: workDirInside,
		Writable: []string{workDirInside, "/tmp", "/dev/shm"}, Masked: b.masks(p)}
	if ws != nil {
		sc.WorkDir = ws.Path
		if ws.Writable() {
			sc.Writable = append(sc.Writable, ws.Path)
		}
	}
	return sc
}

// workspaceEnv is what a command in a workspace finds in its
// environment: the directory's owner as USER and LOGNAME, and as HOME
// the owner's home under view host (the workspace itself otherwise, or
// when the home is not there to see).
func workspaceEnv(ws *Workspace, hostView bool) []string {
	if ws == nil {
		return nil
	}
	home := ws.Path
	fi, err := os.Stat(ws.Path)
	if err != nil {
		return []string{"HOME=" + home, "PWD=" + ws.Path}
	}
	uid, _ := ownerOf(fi)
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
		if hostView && u.HomeDir != "" && filepath.IsAbs(u.HomeDir) {
			if _, err := os.Stat(u.HomeDir); err == nil {
				home = u.HomeDir
			}
		}
	}
	return []string{"HOME=" + home, "USER=" + name, "LOGNAME=" + name, "PWD=" + ws.Path}
}

// localeEnv is the worker's locale (LANG, LANGUAGE and LC_*), passed to
// commands so they sort, format and decode as the worker's host does;
// C.UTF-8 when the worker has none.
func localeEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_") {
			out = append(out, kv)
		}
	}
	if len(out) == 0 {
		out = []string{"LANG=C.UTF-8"}
	}
	return out
}

// hostname is the name commands see under view host.
func (b *base) hostname() string {
	if b.cfg.Hostname != "" {
		return b.cfg.Hostname
	}
	h, _ := os.Hostname()
	return h
}

// mergeEnv appends extra to env, an entry of extra replacing the one of
// env with the same name, so a command sees each variable once.
func mergeEnv(env, extra []string) []string {
	out := make([]string, 0, len(env)+len(extra))
	seen := map[string]bool{}
	for i := len(extra) - 1; i >= 0; i-- {
		k, _, _ := strings.Cut(extra[i], "=")
		if !seen[k] {
			seen[k] = true
		}
	}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !seen[k] {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// RuleBackend is the rule a refusal names when a profile asks its
// backend for something it cannot give.
const RuleBackend = "backend"

// microVMView refuses what the micro-VM backend cannot show its guest
// yet: the host's files or processes, a workspace.
func microVMView(p *Profile, workspace string) error {
	var what []string
	if p.HostView() {
		what = append(what, "view: host")
	}
	if p.HostPids() {
		what = append(what, "pids: host")
	}
	if workspace != "" {
		what = append(what, fmt.Sprintf("workspace %q", workspace))
	}
	if len(what) == 0 {
		return nil
	}
	return &Refusal{Rule: RuleBackend, Reason: fmt.Sprintf("the microvm backend does not support %s yet; run profile %q on the namespace backend", strings.Join(what, ", "), p.Name)}
}

// Offer is what a runner serves, for a worker to advertise so that a
// task naming a workspace it cannot run is refused at submission.
type Offer struct {
	// Workspaces are the declared workspace names.
	Workspaces []string
	// Profiles maps each profile to the workspaces it may name ("*":
	// any).
	Profiles map[string][]string
	// Default is the profile a task naming none gets.
	Default string
	// Unsupported maps a profile to why its backend cannot run it.
	Unsupported map[string]string
}

// offer describes this runner's policy and workspaces; profiles whose
// backend (theirs, or def) is the micro-VM one and that ask for the
// host's view or a workspace are unsupported.
func (b *base) offer(def string) Offer {
	o := Offer{Workspaces: b.workspaces.Names(), Profiles: map[string][]string{}, Unsupported: map[string]string{}}
	o.Default = b.cfg.DefaultProfile
	if o.Default == "" {
		o.Default = b.policy.Default
	}
	for _, name := range b.policy.Names() {
		p, _ := b.policy.Profile(name)
		o.Profiles[name] = append([]string(nil), p.Workspaces...)
		backend := p.Backend
		if backend == "" {
			backend = def
		}
		if backend == "microvm" {
			if err := microVMView(p, ""); err != nil {
				o.Unsupported[name] = err.Error()
			} else if len(p.Workspaces) > 0 {
				o.Unsupported[name] = microVMView(p, "any").Error()
			}
		}
	}
	return o
}

// Offer implements what workers advertise; see Offer.
func (s *Select) Offer() Offer { return s.offer(s.Default.Name()) }

// DescribeWorkspace tells what a command finds under profile in the
// named workspace: Describe's facts, with the workspace as the work dir
// and whether it may write there.
func (b *base) DescribeWorkspace(profile, workspace string) (Facts, error) {
	f, err := b.Describe(profile)
	if err != nil || workspace == "" {
		return f, err
	}
	w, ok := b.workspaces[workspace]
	if !ok {
		return f, nil
	}
	f.WorkDir = w.Path
	if w.Writable() {
		f.View += "; its work dir is the workspace " + w.Name + ", where what it writes stays on the host"
	} else {
		f.View += "; its work dir is the read-only workspace " + w.Name + ": write only to /tmp"
	}
	return f, nil
}
