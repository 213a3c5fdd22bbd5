package sandbox

import (
	"testing"

	"github.com/amf-os/amf/sandbox/internal/child"
	"github.com/amf-os/amf/sandbox/policy"
)

// The init cannot import the policy (its start would pay for the
// policy's tables), so it keeps its own copy of what they share.
func TestChildNamesMatchPolicy(t *testing.T) {
	if got, want := child.WorkDir, policy.InsideWorkDir; got != want {
		t.Fatalf("the init's work dir is %q, the policy checks against %q", got, want)
	}
	if got, want := child.MaxCommandBytes, policy.MaxCommandBytes; got != want {
		t.Fatalf("the init receives commands of up to %d bytes, the policy admits %d", got, want)
	}
}
