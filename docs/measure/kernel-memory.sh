#!/bin/bash
# Kernel memory under load: the resident size of an `amf kernel` process
# idle, right after N tasks ran, and WAIT seconds later. A worker (its own
# process, 8 at once, the namespace sandbox) runs them; the tasks are
# published raw with the nats CLI, as any client may.
#
#   docs/measure/kernel-memory.sh [N] [WAIT]     # defaults 6000 600; as root
#   PROFILES=dir docs/measure/kernel-memory.sh   # also heap profiles at each point
#
# With PROFILES, the kernel serves Go's pprof on 127.0.0.1:14223 (nats-server's
# prof_port, set in a --config file) and dir receives heap-idle.pb.gz,
# heap-after.pb.gz and heap-later.pb.gz, each taken after a collection
# (after the resident size is read); read one with
# `go tool pprof -top $(command -v amf) dir/heap-after.pb.gz`.
#
# Needs amf and nats on PATH; uses 127.0.0.1:14222 and a temporary state dir.
set -eu
N=${1:-6000}
WAIT=${2:-600}
URL=nats://127.0.0.1:14222
S=$(mktemp -d)
# The resident size, and of it the process's own memory (anonymous: heap,
# stacks) and the pages of the amf binary it has run (file).
rss() { awk '/VmRSS/ { r = $2 } /RssAnon/ { a = $2 } /RssFile/ { f = $2 } END { printf "%.0f MiB (own %.0f MiB, binary %.0f MiB)", r / 1024, a / 1024, f / 1024 }' "/proc/$1/status"; }
CONFIG=()
if [ -n "${PROFILES:-}" ]; then
	mkdir -p "$PROFILES"
	echo 'prof_port: 14223' >"$S/prof.conf"
	CONFIG=(--config "$S/prof.conf")
fi
heap() {
	if [ -n "${PROFILES:-}" ]; then
		curl -sf -o "$PROFILES/heap-$1.pb.gz" "http://127.0.0.1:14223/debug/pprof/heap?gc=1"
	fi
}
AMF_STATE_DIR=$S amf kernel "${CONFIG[@]}" --listen 127.0.0.1:14222 >"$S/kernel.log" 2>&1 &
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
