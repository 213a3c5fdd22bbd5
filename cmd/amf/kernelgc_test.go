package main

import (
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/testenv"
)

// `amf kernel` paces its collector for the kernel's heap (GOGC 25, see
// kernel/gcpace.go) unless GOGC is set, and then takes the operator's.
func TestKernelPacesItsCollector(t *testing.T) {
	for _, tc := range []struct {
		name, gogc string
		want       []string // in one line of the kernel's log
	}{
		{"unset", "", []string{`msg="GC percent set"`, "percent=25"}},
		{"operator's", "100", []string{`msg="GC percent left as GOGC sets it"`, "GOGC=100"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := testenv.FreeAddr(t)
			env := []string{"AMF_STATE_DIR=" + t.TempDir(), "AMF_NATS_LISTEN=" + addr, "AMF_LOG_LEVEL=debug", "GOGC=" + tc.gogc}
			k := startAmf(t, env, "kernel")
			waitNATS(t, addr, k)
			out := k.Output()
			for line := range strings.Lines(out) {
				if strings.Contains(line, tc.want[0]) && strings.Contains(line, tc.want[1]) {
					return
				}
			}
			t.Fatalf("with GOGC=%q the kernel's log has no line with %q:\n%s", tc.gogc, tc.want, out)
		})
	}
}
