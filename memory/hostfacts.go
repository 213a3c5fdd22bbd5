package memory

import (
	"runtime"

	"github.com/amf-os/amf/internal/osrelease"
	"github.com/amf-os/amf/kernel/bus"
)

// HostFacts describe a host; see bus.HostFacts.
type HostFacts = bus.HostFacts

// DetectHostFacts describes this host: its OS and its distribution's
// os-release ID. Tools is left nil, meaning "look each tool up on PATH".
func DetectHostFacts() HostFacts {
	return HostFacts{OS: runtime.GOOS, Distro: osrelease.Load()["ID"]}
}
