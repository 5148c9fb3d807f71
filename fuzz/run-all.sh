#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 60) on nightly,
# starting from the committed seeds in corpus/TARGET/ and growing a working
# corpus in campaign/TARGET/ (not committed); a crash is left in
# artifacts/TARGET/: copy it into corpus/TARGET/ once fixed, so `cargo test`
# replays it.
# Needs: rustup toolchain install nightly --profile minimal; cargo install cargo-fuzz
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")"
targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^anrf-fuzz$')
status=0
for target in $targets; do
    mkdir -p "campaign/$target"
    echo "== $target: ${seconds}s"
    if ! cargo +nightly fuzz run "$target" "campaign/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
        echo "== $target: FAILED (see fuzz/artifacts/$target/)"
        status=1
    fi
done
exit "$status"
