//go:build linux

package sandbox

import (
	"context"
	"strings"
	"testing"
)

// TestWarmInitFailureRetries makes a warm init fail after it has attached
// the work dir (the shell cannot be executed with a NUL byte in its
// environment): the fresh init that retries must fail for the same reason,
// not because the work dir's mount was spent, and the runner must go on
// running commands.
func TestWarmInitFailureRetries(t *testing.T) {
	r := newTestRunner(t, Limits{})
	ctx := context.Background()
	_, err := r.Run(ctx, Spec{Command: "true", Env: []string{"BAD=a\x00b"}}, nil)
	t.Logf("run with a NUL in its environment: %v", err)
	if err == nil {
		t.Fatal("a NUL byte in the environment ran")
	}
	if strings.Contains(err.Error(), "attach work dir") || !strings.Contains(err.Error(), "exec") {
		t.Fatalf("the retry failed for another reason than the first attempt: %v", err)
	}
	var out collector
	res, err := r.Run(ctx, Spec{Command: "echo ok"}, out.out)
	if err != nil || res.ExitCode != 0 || !strings.Contains(out.text(), "ok") {
		t.Fatalf("next run: %v, %+v, %q", err, res, out.text())
	}
}
