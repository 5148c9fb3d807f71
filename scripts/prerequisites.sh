#!/usr/bin/env bash
# Installs what building and testing anrf needs, each step in one line: the
# pinned Rust toolchain (rust-toolchain.toml) with rustfmt, clippy and the
# wasm32-wasip1 target, and a C compiler (bundled SQLite, ring and zstd compile
# C). Steps already done are skipped. Sourced or run from the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v rustup >/dev/null 2>&1; then
    echo "error: rustup is not installed; install it from https://rustup.rs, then run this again" >&2
    exit 1
fi
channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if [ -z "$channel" ]; then
    echo "error: no channel in rust-toolchain.toml" >&2
    exit 1
fi
# Explicit: with RUSTUP_AUTO_INSTALL=0 (or an older rustup) nothing installs
# the pinned toolchain implicitly.
if ! rustup run "$channel" rustc --version >/dev/null 2>&1; then
    echo "setup: installing Rust $channel (rustup toolchain install $channel)"
    rustup toolchain install "$channel" --profile minimal -c rustfmt -c clippy -t wasm32-wasip1
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed --toolchain "$channel" | grep -q "^$component"; then
        echo "setup: installing $component (rustup component add $component)"
        rustup component add "$component" --toolchain "$channel"
    fi
done
if ! rustup target list --installed --toolchain "$channel" | grep -qx wasm32-wasip1; then
    echo "setup: installing the wasm32-wasip1 target (rustup target add wasm32-wasip1)"
    rustup target add wasm32-wasip1 --toolchain "$channel"
fi

if ! command -v cc >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing a C compiler (apt-get install gcc libc6-dev)"
        sudo=""
        if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo=sudo; fi
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq gcc libc6-dev
    else
        echo "error: no C compiler (cc); install gcc or clang, then run this again" >&2
        exit 1
    fi
fi
