package kernel

import (
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
)

// The kernel's process collects its heap when it has grown by a quarter
// since the last collection, not by as much again as was live (Go's
// default, GOGC=100). What an idle kernel keeps resident after a load is
// heap pages that each hold a few objects outliving the load (chiefly
// nats-server's per-subject state of the events stream and the status
// bucket, one entry per task, kept as long as the events are) among the
// load's garbage: Go never moves an object, so a page stays for as long
// as one object on it lives. How many pages that is follows from how far
// the heap spreads while the load runs, and under load the live heap
// includes nats-server's store block buffers (up to 8 MiB each), so by
// default the heap let tens of MiB of small garbage pile up between
// collections, and the long-lived entries scattered over all of it. A
// quarter keeps the garbage, and the pages the entries pin, about four
// times fewer. The cost is more collections of a small heap: under a
// load the kernel's collector stays well under 1 % of its CPU
// (docs/kernel-memory.md).

// DefaultGCPercent is the kernel process's GC percent unless GOGC is set.
const DefaultGCPercent = 25

var paceOnce sync.Once

// paceGC sets the process's GC percent to DefaultGCPercent, once per
// process and only when the environment does not set GOGC: an operator's
// own choice stands. In `amf up` it paces the bridge's and the worker's
// garbage too, which share the process.
func paceGC(log *slog.Logger) {
	paceOnce.Do(func() {
		if v, set := os.LookupEnv("GOGC"); set {
			log.Debug("GC percent left as GOGC sets it", "GOGC", v)
			return
		}
		debug.SetGCPercent(DefaultGCPercent)
	})
}
