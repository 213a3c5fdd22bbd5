package kernel_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestExecutionStaysOnWorkers holds the line the design draws: the
// kernel, the bus client and the bridge never link the code that runs
// commands or calls the model. They may link the pure command checker
// (sandbox/policy) to judge a task when it is submitted.
func TestExecutionStaysOnWorkers(t *testing.T) {
	forbidden := []string{
		"github.com/amf-os/amf/sandbox",
		"github.com/amf-os/amf/workers",
		"github.com/ollama/ollama/api",
	}
	for _, pkg := range []string{
		"github.com/amf-os/amf/kernel",
		"github.com/amf-os/amf/kernel/bus",
		"github.com/amf-os/amf/kernel/client",
		"github.com/amf-os/amf/bridge",
	} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		for _, d := range deps {
			if d == "github.com/amf-os/amf/sandbox/policy" {
				continue
			}
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
