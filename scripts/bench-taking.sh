#!/usr/bin/env bash
# A quick local load run of taking and leaderboards (the full suite is issue 8): a release
# server with the demo contest in a database of its own, N members (default 4,000) who each
# start round 1 and submit, at C concurrent clients (default 200), then C leaderboard
# readers of the top 50 for S seconds (default 10).
# Usage: scripts/bench-taking.sh [members] [concurrency] [read-seconds]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
root="$(hoithi_root)"
cd "$root"
members="${1:-4000}"
concurrency="${2:-200}"
seconds="${3:-10}"

hoithi_setup
export HOITHI_JWT_SECRET
hoithi_bench_db hoithi_bench_taking
cargo build --release --manifest-path load-tests/quick/Cargo.toml --target-dir "$root/load-tests/target"
load="$root/load-tests/target/release/hoithi-quick-load"

work="$(mktemp -d)"
"$bin" contest import contests/cuoc-thi-demo >/dev/null
psql -q "$DATABASE_URL" -c "INSERT INTO accounts (id, role, phone, full_name, password_hash)
    SELECT gen_random_uuid(), 'member', '+8491' || lpad(i::text, 7, '0'), 'Hội viên ' || i, 'x'
    FROM generate_series(1, $members) i"
psql -Atq "$DATABASE_URL" -c "SELECT id FROM accounts WHERE role = 'member'" > "$work/members"
round="$(psql -Atq "$DATABASE_URL" -c "SELECT id FROM rounds WHERE number = 1")"

port=$((20000 + RANDOM % 20000))
prefix="hoithi_bench:$$:"
HOITHI_LISTEN="127.0.0.1:$port" HOITHI_REDIS_PREFIX="$prefix" HOITHI_DB_MAX_CONNECTIONS=20 \
    RUST_LOG=warn "$bin" serve &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$work"
    hoithi_bench_drop
    redis-cli -u "$REDIS_URL" --scan --pattern "${prefix}*" | xargs -r redis-cli -u "$REDIS_URL" DEL >/dev/null
}
trap cleanup EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

echo "$(nproc) cores; $members members; $concurrency concurrent clients; round 1 of the demo contest (20 questions)"
"$load" --base "http://127.0.0.1:$port" --round "$round" --members "$work/members" \
    --concurrency "$concurrency" --starts "$members" --read-seconds "$seconds"
