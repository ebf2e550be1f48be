#!/usr/bin/env bash
# Full check, as CI runs it (.ci/run): format, clippy, build + migrations
# (twice), sqlx offline data up to date, tests. Extra arguments go to the
# test binaries (after `cargo test ... --`).
# With CI=true, the local PostgreSQL/Redis that this run started are stopped
# at exit; set HOITHI_KEEP_SERVICES=1 to keep them (or =0 to always stop).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
root="$(hoithi_root)"
cd "$root"
start=$SECONDS

step() { printf '\n==== [%s] %s (at %ss) ====\n' "$1" "$2" "$((SECONDS - start))" >&2; }

hoithi_setup
export HOITHI_JWT_SECRET  # set by hoithi_setup (48 random bytes, base64)

keep="${HOITHI_KEEP_SERVICES:-}"
if [[ -z "$keep" ]]; then
    if [[ "${CI:-}" == true ]]; then keep=0; else keep=1; fi
fi
if [[ "$keep" == 0 ]]; then
    stop_started() {
        # Only what this run started itself; services it reused stay up.
        if [[ "$HOITHI_PG_STARTED" == 1 || "$HOITHI_REDIS_STARTED" == 1 ]]; then
            hoithi_stop || true
        fi
    }
    trap stop_started EXIT
fi

ensure_sqlx_cli() {
    if ! cargo sqlx --version >/dev/null 2>&1; then
        hoithi_log "installing sqlx-cli"
        cargo install sqlx-cli --version '~0.8.6' --no-default-features \
            --features postgres,rustls --locked
    fi
}

step 1/7 "cargo fmt --check"
cargo fmt --all -- --check

step 2/7 "cargo clippy (-D warnings)"
SQLX_OFFLINE=true cargo clippy --workspace --all-targets --locked -- -D warnings

step 3/7 "build + migrate + load contests (twice)"
SQLX_OFFLINE=true cargo build --workspace --locked --all-targets
bin="${CARGO_TARGET_DIR:-$root/target}/debug/hoithi"
"$bin" migrate
"$bin" migrate
# The demo contest, as run.sh loads it; the second load must change nothing.
hoithi_load_contests "$bin"
hoithi_load_contests "$bin"

step 4/7 "sqlx offline query data (.sqlx) is current"
if [[ -d "$root/.sqlx" ]]; then
    ensure_sqlx_cli
    env -u SQLX_OFFLINE cargo sqlx prepare --check -- --all-targets
else
    hoithi_log "NOTICE: no .sqlx directory yet; skipping 'cargo sqlx prepare --check' (run scripts/sqlx-prepare.sh)"
fi

step 5/7 "cargo test"
# The Redis-outage test starts and kills a redis-server of its own, even when
# REDIS_URL points at an existing Redis.
command -v redis-server >/dev/null 2>&1 || _hoithi_apt_install redis-server
# The browser tests drive Debian's Chromium through its ChromeDriver; DejaVu has the
# Vietnamese letters for the screenshots (target/test-artifacts/screenshots/).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 ||
    [[ ! -d /usr/share/fonts/truetype/dejavu ]]; then
    _hoithi_apt_install chromium chromium-driver fonts-dejavu-core
fi
test_log="$(mktemp)"
set +e
SQLX_OFFLINE=true cargo test --workspace --locked --all-targets -- "$@" 2>&1 | tee "$test_log"
test_status=${PIPESTATUS[0]}
set -e
# One total over every test binary, as the last line.
summary="$(awk '/^test result:/ {
        for (i = 2; i <= NF; i++) {
            if ($i ~ /^passed;/) p += $(i - 1)
            if ($i ~ /^failed;/) f += $(i - 1)
        }
    } END { printf "%d passed, %d failed", p, f }' "$test_log")"
rm -f "$test_log"
if [[ "$test_status" != 0 ]]; then
    printf '\n==== tests FAILED after %ss ====\ntests: %s\n' "$((SECONDS - start))" "$summary"
    exit "$test_status"
fi

step 6/7 "load-test smoke (scripts/bench.sh --smoke)"
# The whole benchmark chain, briefly: seed, limits, every phase with its checks, the week's
# judging. Its numbers mean nothing (debug build, 20 clients); a failed check fails CI.
"$root/scripts/bench.sh" --smoke

step 7/7 "fault suite, short (scripts/fault-tests.sh --short)"
# Redis killed, the server SIGKILLed, PostgreSQL stopped hard, each under members submitting
# with retries: nothing acknowledged may be lost or duplicated, the boards must heal.
"$root/scripts/fault-tests.sh" --short

printf '\n==== all checks passed in %ss ====\ntests: %s\n' "$((SECONDS - start))" "$summary"
