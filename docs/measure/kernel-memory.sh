#!/bin/bash
# Kernel memory under load: the resident size of an `amf kernel` process
# idle, right after N tasks ran, and WAIT seconds later. A worker (its own
# process, 8 at once, the namespace sandbox) runs them; the tasks are
# published raw with the nats CLI, as any client may.
#
#   docs/measure/kernel-memory.sh [N] [WAIT]     # defaults 6000 600; as root
#   PROFILES=dir docs/measure/kernel-memory.sh   # also heap profiles at each point
#
# With PROFILES, the kernel serves Go's pprof on 127.0.0.1:$PROF (nats-server's
# prof_port, set in a --config file) and dir receives, at each point (idle,
# after, later): heap-<point>.pb.gz, taken after a collection (after the
# resident size is read; read one with
# `go tool pprof -top $(command -v amf) dir/heap-after.pb.gz`, or what
# stayed with `-diff_base dir/heap-idle.pb.gz dir/heap-later.pb.gz`), and
# the output gains the runtime's own account of the process's memory
# before and after that collection (see account).
#
# Needs amf and nats on PATH; uses 127.0.0.1:$PORT (14222) and $PROF
# (14223), and a temporary state dir.
set -eu
N=${1:-6000}
WAIT=${2:-600}
PORT=${PORT:-14222}
PROF=${PROF:-14223}
URL=nats://127.0.0.1:$PORT
S=$(mktemp -d)
# The resident size, and of it the process's own memory (anonymous: heap,
# stacks) and the pages of the amf binary it has run (file); and the CPU
# time the process has spent so far (user and system; the cost of its
# collector's pace shows here).
rss() {
	awk '/VmRSS/ { r = $2 } /RssAnon/ { a = $2 } /RssFile/ { f = $2 } END { printf "%.0f MiB (own %.0f MiB, binary %.0f MiB)", r / 1024, a / 1024, f / 1024 }' "/proc/$1/status"
	awk -v hz="$(getconf CLK_TCK)" '{ printf ", CPU %.1f s", ($14 + $15) / hz }' "/proc/$1/stat"
}
CONFIG=()
if [ -n "${PROFILES:-}" ]; then
	mkdir -p "$PROFILES"
	echo "prof_port: $PROF" >"$S/prof.conf"
	CONFIG=(--config "$S/prof.conf")
fi
# account prints the runtime's own account of the process's memory, in
# MiB, from pprof's debug page (runtime.MemStats): heap objects (live and
# not yet collected), unused (free slots in heap pages that hold objects:
# what a few live objects among garbage keep resident), free (pages
# resident but holding nothing), released (returned to the system),
# goroutine stacks, the runtime's metadata (spans, GC bitmaps, profiling
# buckets), and the number of goroutines.
account() {
	{
		curl -sf "http://127.0.0.1:$PROF/debug/pprof/heap?debug=1"
		curl -sf "http://127.0.0.1:$PROF/debug/pprof/goroutine?debug=1" | head -1
	} | awk '
		$1 == "#" && $3 == "=" { v[$2] = $4 }
		/^goroutine profile/ { g = $4 }
		END {
			m = 1048576
			printf "heap objects %.1f, unused %.1f, free %.1f, released %.1f; stacks %.1f; metadata %.1f MiB; %d goroutines", v["HeapAlloc"] / m, (v["HeapInuse"] - v["HeapAlloc"]) / m, (v["HeapIdle"] - v["HeapReleased"]) / m, v["HeapReleased"] / m, v["Stack"] / m, (v["MSpan"] + v["MCache"] + v["GCSys"] + v["BuckHashSys"] + v["OtherSys"]) / m, g
		}'
}
# heap saves the point's heap profile, taken after a collection, and
# prints the runtime's account before and after it (then, heap objects
# are the live heap).
heap() {
	if [ -n "${PROFILES:-}" ]; then
		echo "  before a collection: $(account)"
		curl -sf -o "$PROFILES/heap-$1.pb.gz" "http://127.0.0.1:$PROF/debug/pprof/heap?gc=1"
		echo "  after a collection:  $(account)"
	fi
}
AMF_STATE_DIR=$S amf kernel "${CONFIG[@]}" --listen 127.0.0.1:$PORT >"$S/kernel.log" 2>&1 &
K=$!
trap 'kill $W $K 2>/dev/null; wait; rm -rf "$S"' EXIT
sleep 4
AMF_STATE_DIR=$S/worker AMF_NATS_URL=$URL AMF_NATS_CREDS=$S/auth/admin.creds OLLAMA_HOST=http://127.0.0.1:1 \
	amf worker --concurrency 8 >"$S/worker.log" 2>&1 &
W=$!
sleep 6
echo "idle: kernel $(rss $K)"
heap idle
start=$(date +%s)
nats --server $URL --creds "$S/auth/admin.creds" pub amf.tasks.default '{"command":"true","id":"M-{{Count}}"}' --count "$N" >/dev/null
until nats --server $URL --creds "$S/auth/admin.creds" stream info AMF_TASKS --json | grep -q '"messages": 0,'; do
	sleep 2
done
echo "after $N tasks ($(($(date +%s) - start)) s): kernel $(rss $K)"
heap after
sleep "$WAIT"
echo "$WAIT s later: kernel $(rss $K)"
heap later
