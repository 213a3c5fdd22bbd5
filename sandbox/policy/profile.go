package policy

import (
	_ "embed"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed profiles/profiles.yaml
var defaultProfiles []byte

// Profile is one named policy: which rules apply, which commands are
// denied or exclusively allowed, and whether the network is reachable.
type Profile struct {
	Name          string   `yaml:"-"`
	Description   string   `yaml:"description"`
	Network       bool     `yaml:"network"`
	Rules         []string `yaml:"rules"`
	DenyCommands  []string `yaml:"deny_commands"`
	AllowCommands []string `yaml:"allow_commands"`
	// Backend names the execution backend the profile's commands run
	// in (namespace, microvm); empty means the runner's own. See Select.
	Backend string `yaml:"backend"`
	// View says what the profile's commands see (view.go).
	View `yaml:",inline"`

	rules map[string]bool
	deny  map[string]bool
	allow map[string]bool
}

// Has reports whether the profile enables the rule.
func (p *Profile) Has(rule string) bool { return p.rules[rule] }

// Policy is a set of profiles read from a profiles file.
type Policy struct {
	// Default is the profile used when a command names none.
	Default string
	// WorkDir is the budget of every work dir.
	WorkDir  WorkDirBudget
	profiles map[string]*Profile
	// workspaces are the ones the file declares (workspace.go).
	workspaces WorkspaceSet
}

// Workspaces are the workspaces the profiles file declares.
func (p *Policy) Workspaces() WorkspaceSet { return p.workspaces }

// WorkDirBudget is the work_dir section of a profiles file: the size of
// each work dir's own file system and how long an unused one is kept.
type WorkDirBudget struct {
	SizeMiB int64         `yaml:"size_mib"`
	Inodes  int64         `yaml:"inodes"`
	IdleTTL time.Duration `yaml:"idle_ttl"`
	// MaxDirs and TotalMiB bound all the work dirs of one runner: how
	// many may live at once and how much they may hold together.
	MaxDirs  int   `yaml:"max_dirs"`
	TotalMiB int64 `yaml:"total_mib"`
}

type policyFile struct {
	Default  string              `yaml:"default"`
	WorkDir  WorkDirBudget       `yaml:"work_dir"`
	Profiles map[string]*Profile `yaml:"profiles"`
	// Workspaces are the host directories tasks may work in.
	Workspaces map[string]*Workspace `yaml:"workspaces"`
}

// ParsePolicy reads a profiles file (YAML, see profiles/profiles.yaml).
// Unknown keys and unknown rule names are errors, so a typo cannot
// silently switch a rule off.
func ParsePolicy(data []byte) (*Policy, error) {
	var f policyFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadProfiles, err)
	}
	if len(f.Profiles) == 0 {
		return nil, fmt.Errorf("%w: no profiles", ErrBadProfiles)
	}
	for name, p := range f.Profiles {
		if p == nil {
			return nil, fmt.Errorf("%w: profile %q is empty", ErrBadProfiles, name)
		}
		p.Name = name
		p.rules = map[string]bool{}
		for _, r := range p.Rules {
			if !knownRules[r] {
				return nil, fmt.Errorf("%w: profile %q: unknown rule %q", ErrBadProfiles, name, r)
			}
			p.rules[r] = true
		}
		switch p.Backend {
		case "", "namespace", "microvm":
		default:
			return nil, fmt.Errorf("%w: profile %q: unknown backend %q: use namespace or microvm", ErrBadProfiles, name, p.Backend)
		}
		if err := checkView(name, &p.View); err != nil {
			return nil, err
		}
		p.deny = set(p.DenyCommands...)
		p.allow = set(p.AllowCommands...)
	}
	if f.Default == "" {
		f.Default = ProfileStrict
	}
	if _, ok := f.Profiles[f.Default]; !ok {
		return nil, fmt.Errorf("%w: default profile %q is not defined", ErrBadProfiles, f.Default)
	}
	if f.WorkDir.SizeMiB < 0 || f.WorkDir.Inodes < 0 || f.WorkDir.IdleTTL < 0 || f.WorkDir.MaxDirs < 0 || f.WorkDir.TotalMiB < 0 {
		return nil, fmt.Errorf("%w: work_dir: size_mib, inodes, idle_ttl, max_dirs and total_mib must not be negative", ErrBadProfiles)
	}
	ws, err := checkWorkspaces(f.Workspaces)
	if err != nil {
		return nil, err
	}
	return &Policy{Default: f.Default, WorkDir: f.WorkDir, profiles: f.Profiles, workspaces: ws}, nil
}

// BuiltinProfiles is the built-in profiles file, for an operator's copy
// to start from (and tests that add a profile to it).
func BuiltinProfiles() []byte { return append([]byte(nil), defaultProfiles...) }

// LoadPolicy reads a profiles file; an empty path means the built-in one.
func LoadPolicy(path string) (*Policy, error) {
	if path == "" {
		return DefaultPolicy(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	return ParsePolicy(data)
}

// builtinPolicy is parsed on first use, not at start-up: every sandbox
// init is a fresh start of this binary and never needs it.
var builtinPolicy = sync.OnceValue(func() *Policy {
	p, err := ParsePolicy(defaultProfiles)
	if err != nil {
		panic("sandbox: built-in profiles are invalid: " + err.Error())
	}
	return p
})

// DefaultPolicy returns the built-in profiles (strict, network, trusted).
func DefaultPolicy() *Policy { return builtinPolicy() }

// Profile returns the named profile; empty means the default.
func (p *Policy) Profile(name string) (*Profile, error) {
	if name == "" {
		name = p.Default
	}
	pr, ok := p.profiles[name]
	if !ok {
		return nil, &Refusal{Rule: RuleProfile, Reason: fmt.Sprintf("unknown profile %q; known profiles: %s", name, strings.Join(p.Names(), ", "))}
	}
	return pr, nil
}

// Backends lists the backends profiles name, sorted, without repeats.
func (p *Policy) Backends() []string {
	seen := map[string]bool{}
	var out []string
	for _, pr := range p.profiles {
		if pr.Backend != "" && !seen[pr.Backend] {
			seen[pr.Backend] = true
			out = append(out, pr.Backend)
		}
	}
	sort.Strings(out)
	return out
}

// Names lists the profiles, sorted.
func (p *Policy) Names() []string {
	n := make([]string, 0, len(p.profiles))
	for k := range p.profiles {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
