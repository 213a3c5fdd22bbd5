#!/usr/bin/env bash
# Runs the black-box benchmarks of ./bench on two builds of amf — REF's and
# this working tree's — interleaved round by round in one run, and prints
# each metric's ratio (above 1: the working tree is better). REF defaults
# to the commit named in bench/BASELINE, the build this one is held to.
#
#   bench/compare.sh [REF]
#
# AMF_BENCH_ROUNDS (3), AMF_BENCH_PATTERN (every benchmark here),
# AMF_BENCH_FAIL_UNDER (0: report only; CI sets a margin), and the
# benchmarks' own AMF_BENCH_* sizes tune it. AMF_BENCH_PKG=./some/pkg
# compares that package's in-process benchmarks instead, each build's
# own test binary (both builds must have them).
set -euo pipefail
root="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
ref="${1:-$(cat "$root/bench/BASELINE")}"
rounds="${AMF_BENCH_ROUNDS:-3}"
pattern="${AMF_BENCH_PATTERN:-.}"
failunder="${AMF_BENCH_FAIL_UNDER:-0}"
tmp="$(mktemp -d)"
cleanup() {
    git -C "$root" worktree remove --force "$tmp/ref" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

git -C "$root" rev-parse --verify -q "$ref^{commit}" >/dev/null ||
    { echo "bench/compare.sh: $ref is not a commit here (fetch it, or name another)" >&2; exit 2; }
echo "building amf at $ref and at the working tree" >&2
git -C "$root" worktree add --detach -q "$tmp/ref" "$ref"
pkg="${AMF_BENCH_PKG:-}"
if [ -n "$pkg" ]; then
    (cd "$tmp/ref" && go test -c -o "$tmp/pkg-ref.test" "$pkg")
    (cd "$root" && go test -c -o "$tmp/pkg-cur.test" "$pkg" && go build -o "$tmp/ratio" ./bench/ratio)
else
    (cd "$tmp/ref" && go build -o "$tmp/amf-ref" ./cmd/amf)
    (cd "$root" && go build -o "$tmp/amf-cur" ./cmd/amf &&
        go test -c -o "$tmp/bench.test" ./bench && go build -o "$tmp/ratio" ./bench/ratio)
fi

for r in $(seq 1 "$rounds"); do
    order="ref cur"
    [ $((r % 2)) -eq 0 ] && order="cur ref"
    for side in $order; do
        echo "round $r/$rounds: $side" >&2
        if [ -n "$pkg" ]; then
            dir="$root/$pkg"
            [ "$side" = ref ] && dir="$tmp/ref/$pkg"
            (cd "$dir" && "$tmp/pkg-$side.test" -test.run '^$' -test.bench "$pattern" -test.benchtime 1x)
        else
            (cd "$root/bench" && AMF_BENCH_BIN="$tmp/amf-$side" "$tmp/bench.test" \
                -test.run '^$' -test.bench "$pattern" -test.benchtime 1x)
        fi >"$tmp/round.txt" 2>&1 ||
            { cat "$tmp/round.txt" >&2; echo "bench/compare.sh: benchmarks failed on $side" >&2; exit 1; }
        grep '^Benchmark' "$tmp/round.txt" >&2 || true
        cat "$tmp/round.txt" >>"$tmp/$side.txt"
    done
done
echo "ref = $ref ($(git -C "$root" rev-parse --short "$ref")), cur = working tree; medians of $rounds rounds" 
"$tmp/ratio" -fail-under "$failunder" "$tmp/ref.txt" "$tmp/cur.txt"
