#!/usr/bin/env bash
# The main job on the bundled examples: build each module, check its manifest,
# verify it (metadata, wasm, source, overrides, and its intent examples run in the
# sandbox), then run it through `anrf run` on a sample input.
set -euo pipefail
cd "$(dirname "$0")/.."
# The toolchain, the wasm target and a C compiler, each installed when missing.
bash scripts/prerequisites.sh
echo "setup: building anrf (cargo build --release -p anrf)"
cargo build --release --locked -q -p anrf
anrf=target/release/anrf
# State (audit log, caches) stays inside target/ unless ANRF_HOME says otherwise.
export ANRF_HOME="${ANRF_HOME:-$PWD/target/anrf-home}"

for module in examples/*/; do
  module=${module%/}
  echo "== $module"
  "$anrf" build "$module"
  "$anrf" check "$module"
  "$anrf" verify "$module"
done

echo "== anrf run"
echo "the quick brown fox jumps over the lazy dog" | "$anrf" run examples/wordcount
echo "The cat and the hat" | "$anrf" run examples/stopwords
printf 'Ada\nGrace\n' | GREETING=Hej "$anrf" run examples/greeting
printf 'Wikipedia' | "$anrf" run examples/checksum-unsafe
echo "== a hostile guest is stopped (exit 125 expected)"
status=0
"$anrf" run --timeout 200ms tests/hostile/wat/loop_forever.wat || status=$?
if [ "$status" -ne 125 ]; then
  echo "expected exit 125 from the sandbox, got $status" >&2
  exit 1
fi
echo "== audit trail"
"$anrf" audit verify
