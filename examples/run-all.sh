#!/usr/bin/env bash
# The main job on the bundled examples: build each module, check its manifest,
# then run its intent examples in the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p anrf
anrf=target/release/anrf
export ANRF_HOME="${ANRF_HOME:-$PWD/target/anrf-home}"
for module in examples/*/; do
  module=${module%/}
  echo "== $module"
  "$anrf" build "$module"
  "$anrf" check "$module"
done
