package sandbox

import (
	"errors"
	"strings"
	"testing"
)

func TestParseWorkspace(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{in: "proj=/srv/proj:rw", want: "proj=/srv/proj:rw"},
		{in: "proj=/srv/proj", want: "proj=/srv/proj:ro"},
		{in: "docs=/srv/a:b/:ro", want: "docs=/srv/a:b:ro"},
		{in: "proj", err: "use NAME=PATH[:ro|:rw]"},
		{in: "proj=srv/proj", err: "must be absolute"},
		{in: "proj=/", err: "host root cannot be a workspace"},
		{in: "proj=/srv/p:rwx", err: `unknown mode "rwx"`},
		{in: "../x=/srv/p", err: "workspace name"},
	} {
		w, err := ParseWorkspace(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseWorkspace(%q) = %v, %v; want an error saying %q", c.in, w, err, c.err)
			}
			continue
		}
		if err != nil || w.String() != c.want {
			t.Errorf("ParseWorkspace(%q) = %v, %v; want %s", c.in, w, err, c.want)
		}
	}
	ws, err := ParseWorkspaces("a=/x:rw, b=/y,")
	if err != nil || len(ws) != 2 || ws[1].String() != "b=/y:ro" {
		t.Errorf("ParseWorkspaces = %v, %v", ws, err)
	}
}

func TestPolicyView(t *testing.T) {
	pol, err := ParsePolicy([]byte(`
workspaces:
  proj: {path: /srv/proj/, mode: rw}
  docs: {path: /srv/docs}
profiles:
  strict: {rules: [syntax]}
  look: {view: host, pids: host, workspaces: [docs], mask: ["~/.secret", /opt/keys]}
`))
	if err != nil {
		t.Fatal(err)
	}
	look, _ := pol.Profile("look")
	if !look.HostView() || !look.HostPids() || !look.AllowsWorkspace("docs") || look.AllowsWorkspace("proj") {
		t.Errorf("look = %+v", look.View)
	}
	strict, _ := pol.Profile("strict")
	if strict.View.View != ViewMinimal || strict.Pids != PidsOwn || strict.AllowsWorkspace("docs") {
		t.Errorf("strict's view is not minimal by default: %+v", strict.View)
	}
	if w := pol.workspaces["proj"]; w.Path != "/srv/proj" || !w.Writable() {
		t.Errorf("proj = %+v", w)
	}
	if w := pol.workspaces["docs"]; w.Writable() {
		t.Errorf("docs is writable without saying so: %+v", w)
	}
	for _, bad := range []struct{ yaml, err string }{
		{"profiles: {p: {view: hots}}", `unknown view "hots"`},
		{"profiles: {p: {pids: all}}", `unknown pids "all"`},
		{"profiles: {p: {mask: [relative/x]}}", "use an absolute path"},
		{"profiles: {p: {workspaces: [a/b]}}", "workspace name"},
		{"workspaces: {w: {path: x}}\nprofiles: {p: {}}", "must be absolute"},
		{"workspaces: {w: {path: /x, mode: wr}}\nprofiles: {p: {}}", `unknown mode "wr"`},
		{"workspaces: {w: {path: /x, owner: me}}\nprofiles: {p: {}}", "owner"},
	} {
		if _, err := ParsePolicy([]byte(bad.yaml + "\ndefault: p\n")); !errors.Is(err, ErrBadProfiles) || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("%s: got %v, want an error saying %q", bad.yaml, err, bad.err)
		}
	}
}

func TestBuiltinProfilesView(t *testing.T) {
	pol := DefaultPolicy()
	for name, want := range map[string]View{
		"strict":    {View: ViewMinimal, Pids: PidsOwn},
		"observe":   {View: ViewHost, Pids: PidsHost},
		"workspace": {View: ViewHost, Pids: PidsOwn, Workspaces: []string{"*"}},
	} {
		p, err := pol.Profile(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.View.View != want.View || p.Pids != want.Pids || strings.Join(p.Workspaces, ",") != strings.Join(want.Workspaces, ",") || p.Network {
			t.Errorf("%s: view %+v network %v, want %+v without network", name, p.View, p.Network, want)
		}
	}
}

func TestMasks(t *testing.T) {
	m := ExpandMasks(DefaultMasks, []string{"/var/lib/amf-state"})
	for _, p := range []string{"/etc/shadow", "/root/x", "/home/bob/.ssh/id_ed25519", "/home/bob/.aws/credentials",
		"/etc/ssh/ssh_host_ed25519_key", "/etc/sudoers.d/90-cloud", "/home/bob/.bash_history", "/var/lib/amf-state/kernel"} {
		if !Masked(p, m) {
			t.Errorf("%s is not masked", p)
		}
	}
	for _, p := range []string{"/etc/passwd", "/var/log/syslog", "/home/bob/notes.txt", "/etc/ssh/ssh_host_ed25519_key.pub", "/etc/ssh/sshd_config"} {
		if Masked(p, m) {
			t.Errorf("%s is masked", p)
		}
	}
}

func TestMicroVMRefusesViews(t *testing.T) {
	pol := DefaultPolicy()
	strict, _ := pol.Profile("strict")
	observe, _ := pol.Profile("observe")
	if err := microVMView(strict, ""); err != nil {
		t.Errorf("strict on microvm: %v", err)
	}
	for _, c := range []struct {
		p    *Profile
		ws   string
		want string
	}{
		{observe, "", "does not support view: host, pids: host yet"},
		{strict, "proj", `does not support workspace "proj" yet`},
	} {
		err := microVMView(c.p, c.ws)
		var ref *Refusal
		if !errors.As(err, &ref) || ref.Rule != RuleBackend || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: got %v, want a backend refusal saying %q", c.p.Name, c.ws, err, c.want)
		}
	}
	b, err := newBase(Config{DefaultProfile: "observe", Workspaces: []Workspace{{Name: "proj", Path: "/srv/proj"}}})
	if err != nil {
		t.Fatal(err)
	}
	o := b.offer("microvm")
	if o.Default != "observe" || strings.Join(o.Workspaces, ",") != "proj" || o.Unsupported["workspace"] == "" || o.Unsupported["observe"] == "" || o.Unsupported["strict"] != "" {
		t.Errorf("offer of a microvm runner: %+v", o)
	}
	if o := b.offer("namespace"); len(o.Unsupported) != 0 || strings.Join(o.Profiles["workspace"], ",") != "*" {
		t.Errorf("offer of a namespace runner: %+v", o)
	}
}

// FuzzParseWorkspace: any flag value parses to a valid workspace (an
// absolute clean path other than /, a mode, a name) or to an error.
func FuzzParseWorkspace(f *testing.F) {
	for _, s := range []string{"proj=/srv/proj:rw", "a=/x", "=/x", "a=", "a=/:ro", "a=/x:y:rw", "a=/x/../..:ro"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWorkspace(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(w.Path, "/") || w.Path == "/" || strings.Contains(w.Path, "/../") || (w.Mode != WorkspaceRO && w.Mode != WorkspaceRW) || checkWorkspaceName(w.Name) != nil {
			t.Fatalf("ParseWorkspace(%q) = %+v", s, w)
		}
	})
}

func TestDescribeWorkspace(t *testing.T) {
	b, err := newBase(Config{Workspaces: []Workspace{{Name: "proj", Path: "/srv/proj", Mode: WorkspaceRW}, {Name: "docs", Path: "/srv/docs"}}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := b.DescribeWorkspace("workspace", "proj")
	if err != nil || f.WorkDir != "/srv/proj" || !strings.Contains(f.Prompt(), "this machine's files") || !strings.Contains(f.Prompt(), "stays on the host") {
		t.Errorf("rw workspace facts: %v\n%s", err, f.Prompt())
	}
	if f, _ := b.DescribeWorkspace("workspace", "docs"); !strings.Contains(f.Prompt(), "write only to /tmp") {
		t.Errorf("ro workspace facts:\n%s", f.Prompt())
	}
	if f, _ := b.DescribeWorkspace("strict", ""); f.WorkDir != workDirInside || !strings.Contains(f.Prompt(), "minimal root") {
		t.Errorf("strict facts:\n%s", f.Prompt())
	}
}
