//go:build linux

package sandbox

import (
	"context"
	"strings"
	"testing"
)

// The host backend confines nothing, but its commands still start from a
// fixed environment: no credential or connection URL of the worker's.
func TestHostEnvironmentIsClean(t *testing.T) {
	r, err := NewHost(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AMF_TOKEN", "s3cret-token")
	t.Setenv("NATS_URL", "nats://s3cret")
	t.Setenv("AMF_REDIS_URL", "redis://s3cret")
	var c collector
	if _, err := r.Run(context.Background(), Spec{Command: "env", Env: []string{"GREETING=hello"}}, c.out); err != nil {
		t.Fatal(err)
	}
	out := c.text()
	for _, leak := range []string{"s3cret", "AMF_", "NATS_"} {
		if strings.Contains(out, leak) {
			t.Errorf("%q reached a host-backend command:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "GREETING=hello") || !strings.Contains(out, "PATH=") {
		t.Errorf("the command's environment lacks Spec.Env or PATH:\n%s", out)
	}
}
