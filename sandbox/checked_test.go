//go:build unix

package sandbox

import (
	"context"
	"errors"
	"testing"
)

// A command the runner's own check passed is admitted by Run without a
// second check, and only that exact command, profile and env.
func TestValidatedOnce(t *testing.T) {
	r, err := NewHost(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cmd := "tar cf x.tar --checkpoint=1 $OPTS ."
	if err := r.ValidateEnv(cmd, "", []string{"OPTS=-v"}); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if got := r.checked.pending(); got != 1 {
		t.Fatalf("%d checks pending after Validate, want 1", got)
	}
	// The same command with another env is checked again, and refused:
	// a passing check is not a pass for what it did not see.
	_, err = r.Run(ctx, Spec{Command: cmd, Env: []string{"OPTS=--checkpoint-action=exec=sudo id"}}, nil)
	var ref *Refusal
	if !errors.As(err, &ref) || ref.Rule != RuleRoot {
		t.Fatalf("run with another env: %v, want refusal by %s", err, RuleRoot)
	}
	if got := r.checked.pending(); got != 1 {
		t.Fatalf("%d checks pending after a run it did not cover, want 1", got)
	}
	if _, err := r.Run(ctx, Spec{Command: cmd, Env: []string{"OPTS=-v"}}, nil); err != nil {
		t.Fatalf("run the checked command: %v", err)
	}
	if got := r.checked.pending(); got != 0 {
		t.Fatalf("%d checks pending after the run used it, want 0", got)
	}
}
