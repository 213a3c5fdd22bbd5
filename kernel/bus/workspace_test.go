package bus

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckWorkspace(t *testing.T) {
	offers := []Offer{
		{Workspaces: []string{"proj", "docs"}, Default: "observe",
			Profiles:    map[string][]string{"strict": nil, "observe": nil, "workspace": {"*"}, "vm": {"*"}},
			Unsupported: map[string]string{"vm": "the microvm backend does not support workspaces yet"}},
	}
	for _, c := range []struct {
		name      string
		task      Task
		wantError string
	}{
		{"no workspace", Task{Pool: "default"}, ""},
		{"allowed", Task{Pool: "default", Workspace: "proj", Policy: "workspace"}, ""},
		{"unknown", Task{Pool: "default", Workspace: "nope", Policy: "workspace"}, `unknown workspace "nope"; pool "default" declares: docs, proj`},
		{"profile lacks it", Task{Pool: "default", Workspace: "proj", Policy: "strict"}, `profile "strict" may not use workspace "proj"`},
		{"default profile lacks it", Task{Pool: "default", Workspace: "proj"}, `profile "observe" may not use workspace "proj"`},
		{"backend cannot", Task{Pool: "default", Workspace: "proj", Policy: "vm"}, "microvm backend does not support"},
		{"profile not served", Task{Pool: "default", Workspace: "proj", Policy: "other"}, `profile "other" is not served`},
	} {
		err := CheckWorkspace(c.task, offers)
		switch {
		case c.wantError == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.wantError != "" && (err == nil || !errors.Is(err, ErrInvalidTask) || !strings.Contains(err.Error(), c.wantError)):
			t.Errorf("%s: got %v, want an invalid-task error saying %q", c.name, err, c.wantError)
		}
	}
	if err := CheckWorkspace(Task{Workspace: "x"}, nil); err != nil {
		t.Errorf("no offers (no worker heard from) must leave the judgement to the worker: %v", err)
	}
}

func TestTaskWorkspaceField(t *testing.T) {
	task, err := DecodeTask([]byte(`{"command":"true","workspace":"proj"}`))
	if err != nil || task.Workspace != "proj" {
		t.Fatalf("decode: %+v %v", task, err)
	}
	if _, err := DecodeTask([]byte(`{"command":"true","workspace":"../etc"}`)); err == nil || !strings.Contains(err.Error(), "not a workspace name") {
		t.Errorf("a path as workspace name: %v", err)
	}
}
