# AMF-OS tasks. `just test` installs what the tests need when it is missing.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Build the amf binary into ./bin.
build:
    go build -o bin/amf ./cmd/amf

# Run everything on one machine (kernel, bridge, one worker).
up:
    go run ./cmd/amf up

# Install the system packages the tests use, when missing (Debian).
deps:
    #!/usr/bin/env bash
    set -euo pipefail
    need=()
    command -v redis-server >/dev/null || need+=(redis-server)
    command -v bwrap >/dev/null || need+=(bubblewrap)
    command -v chromium >/dev/null || need+=(chromium)
    command -v ip >/dev/null || need+=(iproute2)
    command -v curl >/dev/null || need+=(curl)
    command -v nft >/dev/null || need+=(nftables)
    command -v perl >/dev/null || need+=(perl)
    command -v ps >/dev/null || need+=(procps)
    command -v unshare >/dev/null || need+=(util-linux)
    command -v bash >/dev/null || need+=(bash)
    # the microvm sandbox backend: QEMU's microvm machine, a Debian guest
    # kernel with 9p modules (not the cloud kernel), xz to unpack it
    command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
    ls /lib/modules/*/kernel/fs/9p/9p.ko >/dev/null 2>&1 || need+=(linux-image-amd64)
    command -v xz >/dev/null || need+=(xz-utils)
    # shells whose completion scripts (amf completion) are tested
    command -v zsh >/dev/null || need+=(zsh)
    command -v fish >/dev/null || need+=(fish)
    # the nats CLI, for the tests that drive the kernel the way operators do
    gobin="$(go env GOPATH)/bin"
    [ -x "$gobin/nats" ] || command -v nats >/dev/null || go install github.com/nats-io/natscli/nats@v0.5.0
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing: ${need[*]}"
        sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
        $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 update -qq
        # wait for another install's dpkg lock instead of failing at once
        DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
    fi

# Static checks: formatting and vet.
check:
    test -z "$(gofmt -l $(git ls-files '*.go'))" || { gofmt -l $(git ls-files '*.go'); exit 1; }
    go vet ./...

# The whole test suite, with the race detector.
test: deps check
    PATH="$PATH:$(go env GOPATH)/bin" GORACE="${GORACE:-atexit_sleep_ms=0}" go test -race -count=1 -timeout 20m ./...

# Benchmarks whose numbers the docs report (bench/, sandbox, memory).
bench:
    go test -run '^$' -bench . -benchtime 1x ./bench
    go test -run '^$' -bench . -benchtime 2s ./sandbox/ ./memory/...

# This tree against REF (default: bench/BASELINE), interleaved; ratios > 1 are better.
bench-compare REF="":
    bench/compare.sh {{REF}}

# The short comparison CI runs: fails when a gated ratio falls below 0.6.
bench-ci:
    AMF_BENCH_ROUNDS=3 AMF_BENCH_TASKS=150 AMF_BENCH_TTFT_SAMPLES=20 \
    AMF_BENCH_PATTERN='Dispatch|TTFT|Start' AMF_BENCH_FAIL_UNDER=0.6 \
    bench/compare.sh
