package sandbox

import (
	"context"
	"errors"
	"testing"
)

// envHidden are commands that look harmless until the task's env values
// are expanded into them: each must be refused as if written out.
var envHidden = []struct {
	cmd  string
	env  []string
	rule string
}{
	{"tar cf x.tar --checkpoint=1 $OPTS f", []string{"OPTS=--checkpoint-action=exec=sudo id"}, RuleRoot},
	{"tar xf a.tar $OPTS", []string{"OPTS=--to-command=sudo tee x"}, RuleRoot},
	{"find . -name x $ACTION", []string{"ACTION=-exec sudo id ;"}, RuleRoot},
	{"$TOOL id", []string{"TOOL=sudo"}, RuleRoot},
	{"rm -rf $TARGET", []string{"TARGET=/"}, RuleDestruction},
}

func TestEnvValuesAreCheckedAsWritten(t *testing.T) {
	for _, tc := range envHidden {
		if err := DefaultPolicy().Validate(tc.cmd, ""); err != nil {
			var r *Refusal
			if errors.As(err, &r) && r.Rule == tc.rule {
				continue // refused without its env already
			}
		}
		err := DefaultPolicy().ValidateEnv(tc.cmd, "", tc.env)
		var r *Refusal
		if !errors.As(err, &r) || r.Rule != tc.rule {
			t.Errorf("%q with %v: %v, want refusal by %s", tc.cmd, tc.env, err, tc.rule)
		}
	}
	if err := DefaultPolicy().ValidateEnv("tar czf $OUT data", "", []string{"OUT=backup.tgz"}); err != nil {
		t.Errorf("an ordinary env value refused: %v", err)
	}
}

// The runner itself judges the command with the env it is given, so a
// caller that skips its own check cannot run a hidden hook.
func TestRunnerChecksCommandWithItsEnv(t *testing.T) {
	r, err := NewHost(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(context.Background(), Spec{Command: "tar cf x.tar --checkpoint=1 $OPTS .", Env: []string{"OPTS=--checkpoint-action=exec=sudo id"}}, nil)
	var ref *Refusal
	if !errors.As(err, &ref) || ref.Rule != RuleRoot {
		t.Fatalf("run: %v, want refusal by %s", err, RuleRoot)
	}
}
