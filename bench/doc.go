// Package bench measures the product from the outside: it starts the
// `amf` binary as a user would (`amf up`), drives it over HTTP and SSE,
// and reports tasks per second, submission latency, time to first token
// and token relay. Because it only speaks the public API, the same
// benchmarks run against any build — the one in the working tree or one
// of an older commit (AMF_BENCH_BIN) — which is what bench/compare.sh
// does to put two builds side by side in one run.
package bench
