package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestReadTakesWhatTheToolchainRecorded(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/amf-os/amf", Version: "v0.9.0"},
		Deps:      []*debug.Module{{Path: "github.com/nats-io/nats-server/v2", Version: "v2.15.2"}},
		Settings:  []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}},
	}
	got := read(bi, true)
	want := Info{Version: "v0.9.0", Commit: "abc123-dirty", Go: "go1.26.8", NATSServer: "v2.15.2"}
	if got != want {
		t.Fatalf("read = %+v, want %+v", got, want)
	}
	// Nothing recorded: every field says so rather than being empty.
	none := read(nil, false)
	if none.Version != "unknown" || none.Commit != "unknown" || none.NATSServer != "unknown" || none.Go == "" {
		t.Fatalf("read(nothing) = %+v", none)
	}
}

func TestCollectorIsOneWithTheBuildAsLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "amf_build_info" || len(mfs[0].GetMetric()) != 1 {
		t.Fatalf("gathered %v", mfs)
	}
	m := mfs[0].GetMetric()[0]
	if m.GetGauge().GetValue() != 1 {
		t.Fatalf("value %v", m.GetGauge().GetValue())
	}
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	// This test binary links no nats-server: the label says unknown
	// (amf's own, checked by `amf version`'s test, names it).
	want := Get()
	if labels["nats_server"] != want.NATSServer || labels["version"] != want.Version ||
		labels["commit"] != want.Commit || !strings.HasPrefix(labels["goversion"], "go") {
		t.Fatalf("labels %v, build %+v", labels, want)
	}
}
