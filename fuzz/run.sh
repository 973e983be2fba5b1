#!/usr/bin/env bash
# Runs one fuzz target for a fixed time from the seeds:
#
#   fuzz/run.sh TARGET SECONDS [extra libFuzzer flags...]
#
# TARGET is parse_check, shipment_yaml, eval_bundled or list_loaders. The harness is
# cargo-fuzz (libFuzzer, AddressSanitizer, debug assertions and overflow checks on) run
# on the stable toolchain with RUSTC_BOOTSTRAP=1. New inputs go to fuzz/corpus/TARGET;
# a crash, hang (over 10 s for one input) or OOM (over 2 GiB) is written to
# fuzz/artifacts/TARGET/ and ends the run with a non-zero exit. libFuzzer's final stats
# (executions, exec/s, peak RSS) are printed at the end.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: run.sh TARGET SECONDS}
seconds=${2:?usage: run.sh TARGET SECONDS}
shift 2

if ! cargo fuzz --version > /dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
# Its own target directory, so that fuzzing does not fight the main build.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/fuzz-target}

./seed.sh "$target"
mkdir -p "seeds/$target" "regressions/$target"
extra=()
if [[ -f corpus/$target.dict ]]; then
    extra=("-dict=corpus/$target.dict")
fi
if [[ $target == eval_bundled ]]; then
    # Structured input: a short input decodes to a shipment with most optional facts
    # absent, so let libFuzzer use long inputs from the start.
    extra=(-len_control=0 -max_len=2048)
fi
exec cargo fuzz run "$target" "corpus/$target" "seeds/$target" "regressions/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    "${extra[@]}" "$@"
