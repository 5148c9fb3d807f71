#!/bin/sh
# Runtime benchmark, re-runnable with one command from the repository root:
#
#   bench/run.sh
#
# Builds the programs in bench/guests natively and for wasm32-wasip1 (with the
# simd128 feature, as the native build has SSE2), builds the
# release `anrf` binary, times native vs every engine (with fuel metering and
# with the epoch deadline only) and cold starts, and rewrites the runtime
# section of docs/perf.md. Needs only cargo; hyperfine is not used. Set
# BENCH_REPS (default 5) for more samples, BENCH_SKIP_CLI=1 to skip the CLI build
# (an existing target/release/anrf is still measured), BENCH_WASMTIME=PATH to
# compare with a `wasmtime` CLI that is not on PATH.
set -eu
cd "$(dirname "$0")/.."
root="$PWD"
guests="$root/target/bench-guests"

echo "building the benchmark programs (native and wasm32-wasip1)" >&2
(
    cd bench/guests
    CARGO_TARGET_DIR="$guests" cargo build --release --quiet
    # The wasm builds may use 128-bit SIMD, as the native x86-64 baseline
    # (SSE2) does: both get the same auto-vectorization.
    CARGO_TARGET_DIR="$guests" CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128" \
        cargo build --release --quiet --target wasm32-wasip1
)

anrf_bin=""
if [ -x "$root/target/release/anrf" ]; then
    anrf_bin="$root/target/release/anrf"
fi
if [ "${BENCH_SKIP_CLI:-0}" != 1 ]; then
    echo "building the release anrf binary" >&2
    if cargo build --release --quiet -p anrf; then
        anrf_bin="$root/target/release/anrf"
    else
        echo "warning: the anrf binary did not build; CLI start times use the previous build, if any" >&2
    fi
fi

BENCH_NATIVE_DIR="$guests/release" \
BENCH_WASM_DIR="$guests/wasm32-wasip1/release" \
BENCH_ANRF_BIN="$anrf_bin" \
BENCH_OUT="$root/docs/perf.md" \
    cargo bench --quiet -p anrf-runtime --bench engines
