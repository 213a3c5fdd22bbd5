package kernel

import (
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
)

// `amf kernel`'s process collects its heap when it has grown by a quarter
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
// collections, and the long-lived entries scattered over all of it. At a
// quarter a quarter as much garbage piles up, and the entries pin a
// quarter to half as many pages (TestALoadPinsFewerHeapPagesPaced). The cost is more collections of a small heap; for a kernel
// alone that is little (docs/kernel-memory.md), but `amf up` shares its
// process with a worker and a bridge, whose garbage would be paced too,
// at a cost its throughput shows: there the process keeps Go's default.

// DefaultGCPercent is `amf kernel`'s GC percent unless GOGC is set.
const DefaultGCPercent = 25

var paceOnce sync.Once

// paceGC sets the process's GC percent to percent (> 0), once per
// process and only when the environment does not set GOGC: an operator's
// own choice stands.
func paceGC(percent int, log *slog.Logger) {
	if percent <= 0 {
		return
	}
	paceOnce.Do(func() {
		if v := os.Getenv("GOGC"); v != "" {
			log.Debug("GC percent left as GOGC sets it", "GOGC", v)
			return
		}
		debug.SetGCPercent(percent)
		log.Debug("GC percent set", "percent", percent)
	})
}
