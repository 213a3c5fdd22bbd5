package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/amf-os/amf/sandbox"
)

// workspaceFlag is the repeatable --workspace NAME=PATH[:ro|:rw]; its
// environment twin AMF_WORKSPACES holds the same, comma-separated. Flags
// given on the command line replace the environment's list.
type workspaceFlag struct {
	list    []sandbox.Workspace
	fromEnv bool
}

func (w *workspaceFlag) String() string {
	if w == nil {
		return ""
	}
	s := make([]string, len(w.list))
	for i, x := range w.list {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

func (w *workspaceFlag) Set(v string) error {
	if w.fromEnv {
		w.list, w.fromEnv = nil, false
	}
	ws, err := sandbox.ParseWorkspaces(v)
	if err != nil {
		return err
	}
	w.list = append(w.list, ws...)
	return nil
}

func (f flags) workspaces(p *workspaceFlag, usage string) {
	const env = "AMF_WORKSPACES"
	if s := os.Getenv(env); s != "" {
		ws, err := sandbox.ParseWorkspaces(s)
		if err != nil {
			warnEnv(env, s, "NAME=PATH[:ro|:rw],…")
		} else {
			p.list, p.fromEnv = ws, true
		}
	}
	f.Var(p, "workspace", envUsage(usage, env))
}

// upProfile is the profile a task naming none gets on `amf up` with the
// built-in profiles: it sees the host's files and processes (read-only,
// secrets masked), so questions about "this machine" are answered about
// it. A fleet's workers keep the file's default (strict) unless their
// operator chooses.
const upProfile = "observe"

// upDefaults applies upProfile when neither a profile nor a profiles
// file was chosen, and the worker can run it: a namespace runner without
// root refuses pids: host (sandbox.NamespaceRunner.Offer), and tasks
// then keep the file's default. It returns why it did not apply it.
func (s *sandboxFlags) upDefaults() (why string) {
	if s.profile != "" || s.profiles != "" {
		return ""
	}
	if s.backend == "namespace" && geteuid() != 0 {
		return "running without root, tasks that name no profile get the default (strict), not " + upProfile + ": its view of the host's processes (pids: host) needs a worker running as root"
	}
	s.profile = upProfile
	return ""
}

// geteuid is os.Geteuid, replaced by tests.
var geteuid = os.Geteuid

// execWorkspace picks the profile of `amf exec --workspace`: the
// built-in workspace profile unless one was named.
func execWorkspace(profile string, ws []sandbox.Workspace) (name, prof string, err error) {
	switch len(ws) {
	case 0:
		return "", profile, nil
	case 1:
	default:
		return "", "", fmt.Errorf("amf exec runs in one workspace; %d given", len(ws))
	}
	if profile == "" {
		profile = "workspace"
	}
	return ws[0].Name, profile, nil
}
