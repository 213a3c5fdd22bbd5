// Package buildinfo says which build of amf is running — module version,
// commit, Go and nats-server versions — as the Go toolchain recorded them
// in the binary, for `amf version` and the amf_build_info metric.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Info is one build's identity. Fields the toolchain did not record (a
// `go run`, a test binary, a build outside version control) read
// "unknown", never empty, so a metric's labels are always present.
type Info struct {
	Version    string `json:"version"`     // module version: v1.2.3, or (devel)
	Commit     string `json:"commit"`      // vcs.revision, with "-dirty" when modified
	Go         string `json:"go"`          // the toolchain that built it
	NATSServer string `json:"nats_server"` // the embedded nats-server module's version
}

var (
	once sync.Once
	info Info
)

// Get reads the running binary's build information once.
func Get() Info {
	once.Do(func() { info = read(debug.ReadBuildInfo()) })
	return info
}

func read(bi *debug.BuildInfo, ok bool) Info {
	i := Info{Version: "unknown", Commit: "unknown", Go: runtime.Version(), NATSServer: "unknown"}
	if !ok || bi == nil {
		return i
	}
	if bi.GoVersion != "" {
		i.Go = bi.GoVersion
	}
	if bi.Main.Version != "" {
		i.Version = bi.Main.Version
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && i.Commit != "unknown" {
		i.Commit += "-dirty"
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/nats-io/nats-server/v2" {
			i.NATSServer = d.Version
			if d.Replace != nil {
				i.NATSServer = d.Replace.Version
			}
		}
	}
	return i
}

// Collector is the amf_build_info gauge: always 1, the build in its
// labels, as Prometheus' own *_build_info series are.
func Collector() prometheus.Collector {
	i := Get()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "amf_build_info",
		Help: "The build of amf running: 1, with version, commit, Go and nats-server versions as labels.",
		ConstLabels: prometheus.Labels{
			"version": i.Version, "commit": i.Commit, "goversion": i.Go, "nats_server": i.NATSServer,
		},
	})
	g.Set(1)
	return g
}
