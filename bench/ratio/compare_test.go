package main

import (
	"regexp"
	"strings"
	"testing"
)

const refOut = `goos: linux
BenchmarkDispatch/bwrap-2  1  1 ns/op  100 tasks/s
BenchmarkDispatch/host-2   1  5771586402 ns/op  16.07 submit-p50-ms  100 tasks/s
BenchmarkDispatch/host-2   1  5771586402 ns/op  20.00 submit-p50-ms  120 tasks/s
BenchmarkDispatch/host-2   1  5771586402 ns/op  18.00 submit-p50-ms  110 tasks/s
BenchmarkTTFT-2            100  1 ns/op  4.0 amf-p50-ms
PASS
`

const curOut = `BenchmarkDispatch/bwrap-8  1  1 ns/op  10 tasks/s
BenchmarkDispatch/host-8   1  1 ns/op  9.00 submit-p50-ms  55 tasks/s
BenchmarkTTFT-8            100  1 ns/op  2.0 amf-p50-ms
BenchmarkNew-8             1  1 ns/op
`

func TestCompareOrientsRatiosAndGates(t *testing.T) {
	ref, err := Parse(strings.NewReader(refOut))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := Parse(strings.NewReader(curOut))
	if err != nil {
		t.Fatal(err)
	}
	rows, missing := Compare(ref, cur)
	got := map[string]float64{}
	for _, r := range rows {
		got[r.Bench+" "+r.Unit] = r.Ratio
	}
	// Medians: ref tasks/s 110 → cur 55 is half as good; submit 18 ms →
	// 9 ms is twice as good; TTFT 4 → 2 ms twice as good. bwrap fell to a
	// tenth, but it is the machine's baseline, not gated.
	for key, want := range map[string]float64{
		"BenchmarkDispatch/host tasks/s":       0.5,
		"BenchmarkDispatch/host submit-p50-ms": 2,
		"BenchmarkTTFT amf-p50-ms":             2,
	} {
		if g := got[key]; g < want-1e-9 || g > want+1e-9 {
			t.Errorf("%s: ratio %v, want %v", key, g, want)
		}
	}
	if len(missing) != 1 || !strings.Contains(missing[0], "BenchmarkNew ns/op (cur)") {
		t.Errorf("missing = %q", missing)
	}
	var sb strings.Builder
	if n := print(&sb, rows, regexp.MustCompile(defaultGate), 0.7); n != 1 {
		t.Errorf("%d gated rows below 0.7, want 1 (tasks/s):\n%s", n, sb.String())
	}
	if !strings.Contains(sb.String(), "BELOW 0.70") {
		t.Errorf("table does not mark the fall:\n%s", sb.String())
	}
}

func TestGateHoldsTaskCPU(t *testing.T) {
	gate := regexp.MustCompile(defaultGate)
	for _, m := range []string{"BenchmarkDispatch/host amf-cpu-ms/task", "BenchmarkDispatch/namespace-strict amf-cpu-ms/task", "BenchmarkStart/sandbox-init cpu-ms/start"} {
		if !gate.MatchString(m) {
			t.Errorf("%s is not gated", m)
		}
	}
	if gate.MatchString("BenchmarkDispatch/bwrap tasks/s") {
		t.Error("the bubblewrap baseline is gated")
	}
	if gate.MatchString("BenchmarkStart/help cpu-ms/start") {
		t.Error("the whole program's start is gated: it is not the task path")
	}
}
