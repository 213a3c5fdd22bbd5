package sandbox

import (
	"errors"
	"strings"
	"testing"
)

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
