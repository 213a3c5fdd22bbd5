package kernel

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
)

// pacedLoadEnv makes the test binary, re-run, be the process of one load.
const pacedLoadEnv = "AMF_TEST_PACED_LOAD"

// What stays of a load, as a kernel's process lives it: small objects
// that outlive the load, one a task (nats-server's per-subject state),
// allocated among the load's small garbage while large buffers are live
// (store blocks being written). After the load, collected and returned,
// the heap pages they pin hold many times what they do. Paced as `amf
// kernel` paces its process they pin clearly fewer than under Go's
// default (a quarter to two thirds as many, measured: the median of three
// loads each way is held to three quarters); and an operator's GOGC is
// left as it is.
func TestALoadPinsFewerHeapPagesPaced(t *testing.T) {
	if os.Getenv(pacedLoadEnv) != "" {
		pacedLoadChild() // this process is one load's
		os.Exit(0)
	}
	var paced, dflt []pacedLoad
	for range 3 {
		paced = append(paced, runPacedLoad(t, ""))
		dflt = append(dflt, runPacedLoad(t, "100"))
	}
	for _, l := range slices.Concat(paced, dflt) {
		t.Logf("GC percent %d: %.1f MiB of pages in use for %.1f MiB of live objects", l.Percent, mb(l.InUse), mb(l.Live))
	}
	if got, want := paced[0].Percent, DefaultGCPercent; got != want {
		t.Fatalf("a kernel's process without GOGC collects at %d %%, want %d", got, want)
	}
	if got, want := dflt[0].Percent, 100; got != want {
		t.Fatalf("with GOGC=100 a kernel's process collects at %d %%, want the operator's %d", got, want)
	}
	p, d := medianUnused(paced), medianUnused(dflt)
	if p*4 > d*3 {
		t.Fatalf("paced, a load's survivors pin %.1f MiB of unused heap; by default %.1f MiB: want at most three quarters", mb(p), mb(d))
	}
}

func medianUnused(loads []pacedLoad) uint64 {
	u := make([]uint64, 0, len(loads))
	for _, l := range loads {
		u = append(u, l.Unused())
	}
	slices.Sort(u)
	return u[len(u)/2]
}

// pacedLoad is what one load's process reports.
type pacedLoad struct {
	Percent     int    // the GC percent the kernel's pacing left
	Live, InUse uint64 // bytes of live objects the load left, and of the heap pages it left holding objects
}

func (l pacedLoad) Unused() uint64 { return l.InUse - l.Live }

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

// runPacedLoad runs the load in a process of its own, with GOGC set to
// gogc unless empty.
func runPacedLoad(t *testing.T, gogc string) pacedLoad {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestALoadPinsFewerHeapPagesPaced$")
	cmd.Env = []string{pacedLoadEnv + "=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if gogc != "" {
		cmd.Env = append(cmd.Env, "GOGC="+gogc)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("load with GOGC=%q: %v: %s", gogc, err, out)
	}
	var l pacedLoad
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatalf("load with GOGC=%q: read %q: %v", gogc, out, err)
	}
	return l
}

// pacedLoadChild is the load's process: the kernel's pacing, then the
// load, then one line of JSON on stdout.
func pacedLoadChild() {
	os.Unsetenv(pacedLoadEnv)
	paceGC(DefaultGCPercent, slog.New(slog.NewTextHandler(io.Discard, nil)))
	percent := debug.SetGCPercent(100)
	debug.SetGCPercent(percent)

	inUse := func() (live, inUse uint64) {
		runtime.GC()
		debug.FreeOSMemory()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64(), s[0].Value.Uint64() + s[1].Value.Uint64()
	}
	live0, inUse0 := inUse()

	type entry struct{ a, b, c, d, e, f uint64 } // 48 bytes, as a subject's state
	var (
		kept  []*entry
		sink  [][]byte
		block = make([]byte, 12<<20) // store blocks being written (events 8 MiB, tasks 4)
	)
	for i := range 6000 {
		kept = append(kept, &entry{a: uint64(i)})
		// A task's garbage, 90 KB of small objects: messages, headers,
		// decoded JSON, timers.
		for j := range 1500 {
			b := make([]byte, 32+(j%3)*16)
			if j%100 == 0 {
				sink = append(sink[:0], b)
			}
		}
	}
	runtime.KeepAlive(block)
	runtime.KeepAlive(sink)
	block, sink = nil, nil
	live, inUse1 := inUse()
	out, _ := json.Marshal(pacedLoad{Percent: percent, Live: live - live0, InUse: inUse1 - inUse0})
	fmt.Println(string(out))
	runtime.KeepAlive(kept)
}
