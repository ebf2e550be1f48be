#!/usr/bin/env bash
# Fuzzes the parsers of uploaded files with cargo fuzz (libFuzzer): question banks in every
# format, the units CSV, a contest folder's contest.toml and its round times. Each target
# runs for the time box, one after the other (2 shared cores: parallel runs only slow each
# other down), starting from fuzz/seeds/<target>/ and growing fuzz/corpus/<target>/.
# Prints each target's executions and crashes, then the totals; exits 1 if any crashed.
# A crash's input is in fuzz/artifacts/<target>/, libFuzzer's output in fuzz.log beside it.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default: 60 s, every target)
# HOITHI_FUZZ_SANITIZER=none builds without AddressSanitizer (faster, for a quick look).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
root="$(hoithi_root)"
cd "$root"
seconds="${1:-60}"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || hoithi_die "SECONDS_PER_TARGET must be a whole number, not '$seconds'"
shift $(($# > 0 ? 1 : 0))

_hoithi_find_cargo || hoithi_die "cargo not found: install Rust (rustup) first"
# cargo fuzz passes nightly-only flags (-Zsanitizer, sanitizer-coverage); these machines
# have only the stable toolchain, which accepts them with RUSTC_BOOTSTRAP=1.
export RUSTC_BOOTSTRAP=1
# hoithi's sqlx macros compile from the .sqlx/ cache, not a live database.
export SQLX_OFFLINE=true
if ! cargo fuzz --version >/dev/null 2>&1; then
    hoithi_log "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# cargo fuzz's default build: optimised, yet with debug assertions and overflow checks in
# every crate, as in a test build, so an integer overflow is a panic here too.
flags=(--sanitizer "${HOITHI_FUZZ_SANITIZER:-address}")
if (($# > 0)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi
# One build for every target (they share all their dependencies). The binaries then run
# directly: `cargo fuzz run` would rebuild whenever a source file changed in between, and
# every target should test the same build.
cargo fuzz build "${flags[@]}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="${CARGO_TARGET_DIR:-fuzz/target}/$triple/release"
# As `cargo fuzz run` sets it: its one-definition-rule reports are false alarms for Rust.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0"

total_execs=0
total_crashes=0
failed=()
# Crashes: panics out of a target, panics in hoithi's own code, ASan errors, timeouts, OOMs.
# Dependency panics: distinct places where calamine, zip… panicked and a parser's
# catch_unwind turned it into an error for the file (see fuzz/src/lib.rs).
row() { printf '%-20s %14s %8s %18s\n' "$@"; }
row target executions crashes "dependency panics"
total_panics=0
for target in "${targets[@]}"; do
    artifacts="fuzz/artifacts/$target"
    mkdir -p "$artifacts" "fuzz/corpus/$target"
    log="$artifacts/fuzz.log"
    before=$(find "$artifacts" -type f ! -name fuzz.log | wc -l)
    # The first corpus folder is where libFuzzer writes new inputs; the seeds are only read.
    # A parser that takes 10 s on one input is a bug too (libFuzzer reports it as a timeout).
    status=0
    "$bin_dir/$target" -artifact_prefix="$artifacts/" -max_total_time="$seconds" -timeout=10 \
        -print_final_stats=1 "fuzz/corpus/$target" "fuzz/seeds/$target" >"$log" 2>&1 || status=$?
    # libFuzzer prints its final stats at the end of the time box and when it stops on a crash.
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    execs="${execs:-0}"
    crashes=$(($(find "$artifacts" -type f ! -name fuzz.log | wc -l) - before))
    # A failure that left no input behind (a build or setup error) still counts.
    if ((status != 0 && crashes == 0)); then
        crashes=1
    fi
    panics=$(grep -c '^dependency panic' "$log" || true)
    row "$target" "$execs" "$crashes" "$panics"
    total_execs=$((total_execs + execs))
    total_crashes=$((total_crashes + crashes))
    total_panics=$((total_panics + panics))
    if ((crashes > 0)); then
        failed+=("$target")
        grep -E -A1 '^(thread .* panicked|==[0-9]+==ERROR|SUMMARY:|artifact_prefix)' "$log" |
            head -n 12 | sed 's/^/    /' >&2 || true
    fi
done
row total "$total_execs" "$total_crashes" "$total_panics"
if ((${#failed[@]} > 0)); then
    hoithi_die "crashes in: ${failed[*]} (inputs and logs under fuzz/artifacts/)"
fi
