package bus_test

import (
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
)

func TestRedactedKeepsNamesDropsValues(t *testing.T) {
	task := bus.Task{Command: "deploy", Env: map[string]string{"TOKEN": "hunter2", "REGION": "eu"}}
	shown := task.Redacted()
	if task.Env["TOKEN"] != "hunter2" {
		t.Fatalf("Redacted changed the task it was called on: %v", task.Env)
	}
	enc := string(shown.Encode())
	if strings.Contains(enc, "hunter2") || strings.Contains(enc, `"eu"`) {
		t.Fatalf("redacted task still holds a value: %s", enc)
	}
	if shown.Env["TOKEN"] != bus.Redacted || shown.Env["REGION"] != bus.Redacted || !shown.IsRedacted() {
		t.Fatalf("redacted env %v, want both names with %q", shown.Env, bus.Redacted)
	}
	if task.IsRedacted() || (bus.Task{Command: "ls"}).IsRedacted() {
		t.Fatal("a task with real values, or none, is not redacted")
	}
}
