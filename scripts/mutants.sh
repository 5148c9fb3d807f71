#!/usr/bin/env bash
# Mutation testing of the security crates: cargo-mutants changes one operator or
# function body at a time and runs the mutated crate's own tests; a mutant the
# tests do not notice ("missed") is a decision no test guards.
#
#   scripts/mutants.sh                      every security crate, every file
#   scripts/mutants.sh anrf-policy          one crate
#   scripts/mutants.sh anrf-policy --file crates/anrf-policy/src/keys.rs
#                                           one file (more cargo-mutants options
#                                           after the crate are passed through)
#
# Each mutant runs the crate's unit and integration tests (`cargo test --tests`;
# doc tests are examples and are left out, which saves compiling them for every
# mutant).
# Not part of CI: a crate takes from minutes to hours on two cores. Installs
# cargo-mutants (`cargo install --locked cargo-mutants`) if it is missing.
# Mutants that only change wording, Debug output or an equivalent form are listed
# with their reasons in .cargo/mutants.toml.
#
# Environment: MUTANTS_JOBS (parallel builds, default 1), MUTANTS_TIMEOUT
# (seconds a mutant's test run may take, default 300), MUTANTS_BUILD_TIMEOUT
# (seconds a build may take, default 900). With one job the scratch copies build
# into target/mutants-build, so dependencies are compiled once and reused; results
# go to target/mutants/<crate>/mutants.out. Do not point CARGO_TARGET_DIR at the
# directory of your own builds: a scratch copy's artifacts have the same names as
# the checkout's, and a later build of the checkout can take a mutated one for
# up to date.
#
# Prints caught / missed / unviable / timeout per file, then the missed mutants.
# Exit status: 0 when nothing was missed, 2 when some mutant was missed or timed
# out, 1 on a usage or setup error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

security_crates=(anrf-policy anrf-audit anrf-runtime anrf-verify anrf-gen)

crates=()
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    crate=$1
    shift
    found=no
    for c in "${security_crates[@]}"; do
        if [ "$c" = "$crate" ]; then found=yes; fi
    done
    if [ "$found" = no ]; then
        echo "error: \`$crate\` is not one of the security crates (${security_crates[*]})" >&2
        exit 1
    fi
    crates=("$crate")
else
    crates=("${security_crates[@]}")
fi

if ! cargo mutants --version >/dev/null 2>&1; then
    echo "setup: installing cargo-mutants (cargo install --locked cargo-mutants)"
    cargo install --locked cargo-mutants
fi
echo "using $(cargo mutants --version)"

jobs=${MUTANTS_JOBS:-1}
timeout=${MUTANTS_TIMEOUT:-300}
build_timeout=${MUTANTS_BUILD_TIMEOUT:-900}
# With one job, every scratch copy builds into one shared directory, so the
# dependencies are compiled once for all runs. Parallel jobs must not share one:
# the copies have the same relative paths, so their artifacts would collide;
# each then builds in its own copy.
if [ "$jobs" = 1 ]; then
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/mutants-build}
else
    unset CARGO_TARGET_DIR
fi

# One line per file: caught, missed, unviable, timeout. Reads the four lists
# cargo-mutants writes (each line starts `path:line:col: `).
summarize() {
    local out=$1
    for kind in caught missed unviable timeout; do
        if [ -f "$out/$kind.txt" ]; then
            sed -e "s/:.*//" -e "s/^/$kind /" "$out/$kind.txt"
        fi
    done | awk '
        { n[$2, $1]++; files[$2] = 1 }
        END {
            printf "%-48s %7s %7s %9s %8s\n", "file", "caught", "missed", "unviable", "timeout"
            for (f in files)
                printf "%-48s %7d %7d %9d %8d\n", f, n[f, "caught"], n[f, "missed"], n[f, "unviable"], n[f, "timeout"]
        }' | { read -r header; echo "$header"; sort; }
}

status=0
for crate in "${crates[@]}"; do
    out_dir=$root/target/mutants/$crate
    mkdir -p "$out_dir"
    echo "== $crate ($(date -u +%Y-%m-%dT%H:%MZ), -j $jobs, --timeout $timeout)"
    set +e
    cargo mutants \
        --package "$crate" \
        --test-workspace false \
        --jobs "$jobs" \
        --timeout "$timeout" \
        --build-timeout "$build_timeout" \
        --output "$out_dir" \
        --no-times \
        --cargo-test-arg=--tests \
        "$@"
    rc=$?
    set -e
    # cargo-mutants: 0 all caught, 2 some missed, 3 some timed out, 4 the
    # unmutated tree fails its tests; anything else is a usage or setup error.
    case $rc in
        0) ;;
        2 | 3) status=2 ;;
        4)
            echo "error: the tests of $crate fail without any mutation; fix them first (see $out_dir/mutants.out/log)" >&2
            exit 1
            ;;
        *)
            echo "error: cargo mutants exited with $rc for $crate" >&2
            exit 1
            ;;
    esac
    echo "== $crate per file"
    summarize "$out_dir/mutants.out"
    if [ -s "$out_dir/mutants.out/missed.txt" ]; then
        echo "== $crate missed"
        cat "$out_dir/mutants.out/missed.txt"
    fi
done
exit $status
