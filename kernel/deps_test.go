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
	t.Parallel()
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

// TestKernelNeverImportsMemory keeps the kernel below memory: the search
// contract lives in kernel/bus, the cache is handed to the kernel.
func TestKernelNeverImportsMemory(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "github.com/amf-os/amf/kernel/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, d := range strings.Fields(string(out)) {
		if d == "github.com/amf-os/amf/memory" || strings.HasPrefix(d, "github.com/amf-os/amf/memory/") {
			t.Errorf("a kernel package depends on %s", d)
		}
	}
}
