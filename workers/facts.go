package workers

import (
	"slices"
	"sync"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/sandbox"
)

// describer is implemented by runners that know what a command finds
// inside their sandbox (the sandbox package's runners do).
type describer interface {
	Describe(profile string) (sandbox.Facts, error)
}

// workspaceDescriber is implemented by runners that declare workspaces:
// a task naming one works in it, and the model is told so.
type workspaceDescriber interface {
	DescribeWorkspace(profile, workspace string) (sandbox.Facts, error)
}

// validator is implemented by runners that can check a command against
// their policy without running it.
type validator interface {
	Validate(command, profile string) error
}

// envValidator checks a command as it will run, with the task's env set:
// the command expands those values, so they are judged too.
type envValidator interface {
	ValidateEnv(command, profile string, env []string) error
}

// scopedValidator checks a command as it will run in the workspace its
// task names, against what the command will see there (the host's files
// under a host view, the workspace as its working directory).
type scopedValidator interface {
	ValidateIn(command, profile, workspace string, env []string) error
}

// oftenAssumed are tools models reach for without checking; naming the
// absent ones in the prompt saves an attempt on "command not found".
var oftenAssumed = []string{"jq", "python3", "tree", "rsync", "zip", "unzip", "bc", "file", "lsof", "git", "sqlite3", "xxd", "curl", "wget", "perl"}

// facts says where this task's commands run, for the prompt. A runner
// that cannot describe itself is described by the built-in policy and
// the tools of this host.
func (r *run) facts() sandbox.Facts {
	if d, ok := r.s.cfg.Runner.(workspaceDescriber); ok && r.task.Workspace != "" {
		if f, err := d.DescribeWorkspace(r.task.Policy, r.task.Workspace); err == nil {
			return f
		}
	}
	if d, ok := r.s.cfg.Runner.(describer); ok {
		f, err := d.Describe(r.task.Policy)
		if err == nil {
			return f
		}
		r.log().Debug("describe sandbox", "err", err)
	}
	// The work dir stays "the current directory": its path differs per
	// task, and the system prompt must not.
	f, err := sandbox.Describe(r.task.Policy)
	if err != nil {
		f, _ = sandbox.Describe("")
	}
	return f
}

// missingTools lists the often-assumed tools the facts do not list.
func missingTools(f sandbox.Facts) []string {
	var out []string
	for _, t := range oftenAssumed {
		if !slices.Contains(f.Tools, t) {
			out = append(out, t)
		}
	}
	return out
}

// hostFacts describe this worker for memory: recalled commands are
// reused blindly only where they can work, and learned ones say where
// they worked. Tools stay unset: memory then looks each tool up on PATH,
// which is what the sandbox sees, its /usr being the host's.
var hostFacts = sync.OnceValue(func() bus.HostFacts { return memory.DetectHostFacts() })
