#!/usr/bin/env bash
# A contest week under load, measured against this machine's own limits.
#
# A server over a database of its own holds round 1 of the demo contest, open for a week
# and closing in two hours, seeded (by COPY) with ENTRIES finished entries. Then, each at
# CLIENTS concurrent clients:
#   limits   an authenticated echo (the HTTP stack alone), pgbench running the statements of
#            one submission, redis-benchmark ZADD; the ceiling B = 1/(1/H + 1/P + 1/R);
#   phases   the opening burst (fresh members start), the closing rush (they submit, each
#            grade checked against the bank's key), the steady take (new members start,
#            autosave and submit), top-50 readers, my-rank readers, and a mixed week of
#            takers and readers;
#   week     the round closes; finalize, the winners export and the full results CSV are
#            timed with the server's peak RSS, as were the seeding and the Redis rebuild.
# Everything lands in load-tests/results/latest.json (--smoke: smoke.json).
#
# Usage: scripts/bench.sh [--smoke]
#   --smoke  a short run (2,000 entries, 20 clients, 3 s phases, debug build) that CI runs
#            to keep the whole chain working; its numbers mean nothing.
# Environment (full run): HOITHI_BENCH_ENTRIES (1000000), HOITHI_BENCH_CLIENTS (200),
#   HOITHI_BENCH_SECONDS (20), HOITHI_BENCH_POOL (the server's PostgreSQL pool, 20);
#   HOITHI_BENCH_KEEP=1 keeps the database afterwards.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
root="$(hoithi_root)"
cd "$root"

if [[ "${1:-}" == --smoke ]]; then
    smoke=1 profile=dev entries=2000 clients=20 seconds=3 pool=10
    burst=600 take=300 mixed=3000 zadds=20000 name=smoke
else
    smoke=0 profile=release
    entries="${HOITHI_BENCH_ENTRIES:-1000000}"
    clients="${HOITHI_BENCH_CLIENTS:-200}"
    seconds="${HOITHI_BENCH_SECONDS:-20}"
    pool="${HOITHI_BENCH_POOL:-20}"
    burst=30000 take=20000 mixed=60000 zadds=2000000 name=latest
fi
members=$((entries + burst + take + mixed))

hoithi_setup
export HOITHI_JWT_SECRET
[[ -x /usr/bin/time ]] || _hoithi_apt_install time
command -v pgbench >/dev/null || _hoithi_apt_install postgresql-client
command -v redis-benchmark >/dev/null || _hoithi_apt_install redis-tools

hoithi_bench_db "hoithi_bench_week_$$" "$profile"
if [[ "$profile" == dev ]]; then
    # Built already with the rest of the workspace (scripts/test.sh's flags).
    load="${CARGO_TARGET_DIR:-$root/target}/debug/hoithi-load"
else
    SQLX_OFFLINE=true cargo build --release --locked -p hoithi-load
    load="${CARGO_TARGET_DIR:-$root/target}/release/hoithi-load"
fi

work="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
prefix="hoithi_bench:$$:"
redis_db=9
server=""
cleanup() {
    if [[ -n "$server" ]]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    if [[ -f "$work/server.log" ]] && grep -q '"level":"ERROR"\|panicked' "$work/server.log"; then
        echo "== the server logged errors:" >&2
        grep '"level":"ERROR"\|panicked' "$work/server.log" | tail -n 20 >&2
    fi
    rm -rf "$work"
    if [[ -n "${HOITHI_BENCH_KEEP:-}" ]]; then
        echo "kept the database: $DATABASE_URL (Redis prefix $prefix)"
    else
        hoithi_bench_drop
    fi
    redis-cli -u "$REDIS_URL" --scan --pattern "${prefix}*" | xargs -r redis-cli -u "$REDIS_URL" DEL >/dev/null
    redis-cli -u "$REDIS_URL" -n "$redis_db" DEL myzset >/dev/null || true
}
trap cleanup EXIT
export HOITHI_REDIS_PREFIX="$prefix"

sql() { psql -Atq -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }
# Seconds since the epoch, with milliseconds.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
week=()

"$bin" contest import contests/cuoc-thi-demo >/dev/null
printf 'bench judge password\n' |
    "$bin" user create --role admin --login judge@bench.invalid --name "Ban giám khảo" --password-stdin >/dev/null
admin="$(sql "SELECT id FROM accounts WHERE email = 'judge@bench.invalid'")"
# Round 1 has been open for a week and closes in two hours: the last evening's rush.
round="$(sql "UPDATE rounds SET opens_at = now() - interval '7 days', closes_at = now() + interval '2 hours'
    WHERE number = 1 RETURNING id")"

echo "== $(nproc) cores; seeding $members members, $entries entries of round 1"
t="$(now)"
"$load" seed --round "$round" --members "$members" --entries "$entries"
week+=(--week "seed_s=$(elapsed "$t")")
# A week-old round has been vacuumed and checkpointed: do it now, so the measurements
# below do not pay for setting a million fresh rows' hint bits or for the bulk load's
# checkpoint.
t="$(now)"
psql -q "$DATABASE_URL" -c "VACUUM (ANALYZE) attempts, accounts" -c "CHECKPOINT"
week+=(--week "vacuum_s=$(elapsed "$t")")
echo "vacuumed and checkpointed in $(elapsed "$t") s"

echo "== the Redis leaderboard, rebuilt from PostgreSQL"
/usr/bin/time -f "%e %M" -o "$work/time" "$bin" leaderboard rebuild --round "$round" >/dev/null
read -r rebuild_s rebuild_kib <"$work/time"
echo "rebuilt in $rebuild_s s, peak RSS $((rebuild_kib / 1024)) MiB"
week+=(--week "redis_rebuild_s=$rebuild_s" --week "redis_rebuild_peak_rss_mib=$((rebuild_kib / 1024))")

HOITHI_LISTEN="127.0.0.1:$port" HOITHI_DB_MAX_CONNECTIONS="$pool" RUST_LOG=warn \
    "$bin" serve 2>"$work/server.log" &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.2; done
rss() { awk -v k="$1" '$1 == k":" { printf "%.0f", $2 / 1024 }' "/proc/$server/status"; }
echo "server RSS at rest: $(rss VmRSS) MiB (pool of $pool connections)"

run() {
    local phase="$1"
    shift
    "$load" run "$phase" --base "$base" --round "$round" --entries "$entries" --users "$clients" \
        --server-pid "$server" --out "$work/$phase.json" "$@"
}

echo "== limits, $clients clients each"
run echo --seconds "$seconds"

# pgbench: the statements of one submission (sqlx prepares them, hence -M prepared) on
# attempts of their own in round 2, the state check widened so a repeated pick still
# writes the row (the server's UPDATE matches only attempts in progress).
round2="$(sql "SELECT id FROM rounds WHERE number = 2")"
spare=$((clients * 200))
sql "INSERT INTO attempts (id, round_id, member_id, number, state, started_at, deadline,
        paper_revisions, paper_option_order, answers)
     SELECT ('00000000-0000-4000-c000-' || lpad(to_hex(i), 12, '0'))::uuid, '$round2',
            ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 1, 'in_progress',
            now(), now() + interval '1 day', a.paper_revisions, a.paper_option_order, a.answers
     FROM generate_series(1, $spare) i,
          (SELECT paper_revisions, paper_option_order, answers FROM attempts
           WHERE round_id = '$round' LIMIT 1) a"
columns="id, round_id, member_id, number, state, started_at, deadline, paper_revisions,
    paper_option_order, answers, prediction, submitted_at, duration_ms, correct, total"
attempt="('00000000-0000-4000-c000-' || lpad(to_hex(:i::bigint), 12, '0'))::uuid"
member="('00000000-0000-4000-8000-' || lpad(to_hex(:i::bigint), 12, '0'))::uuid"
answers="$(sql "SELECT answers FROM attempts WHERE round_id = '$round' LIMIT 1")"
cat >"$work/submit.sql" <<EOF
\set i random(1, $spare)
SELECT $(tr '\n' ' ' <<<"$columns") FROM attempts WHERE id = $attempt AND member_id = $member;
UPDATE attempts SET state = 'submitted', answers = '$answers', prediction = 123456, submitted_at = now(), duration_ms = 61234, correct = least(14, cardinality(paper_revisions)), total = cardinality(paper_revisions) WHERE id = $attempt AND state IN ('in_progress', 'submitted') RETURNING $(tr '\n' ' ' <<<"$columns");
EOF
pgbench -n -M prepared -c "$clients" -j "$(nproc)" -T "$seconds" -f "$work/submit.sql" "$DATABASE_URL" >"$work/pgbench.out"
pgbench_tps="$(awk '/^tps = / { print $3; exit }' "$work/pgbench.out")"
echo "pgbench (one submission's statements): $pgbench_tps tps"
sql "DELETE FROM attempts WHERE round_id = '$round2'"

redis_host="$(sed -E 's#^redis://([^:/]+).*#\1#' <<<"$REDIS_URL")"
redis_port="$(sed -nE 's#^redis://[^:/]+:([0-9]+).*#\1#p' <<<"$REDIS_URL")"
redis-benchmark -h "$redis_host" -p "${redis_port:-6379}" --dbnum "$redis_db" -c "$clients" \
    -n "$zadds" -r 1000000 -t zadd --csv >"$work/redis.out"
redis_rps="$(awk -F'"' '$2 == "ZADD" { print $4; exit }' "$work/redis.out")"
echo "redis-benchmark ZADD: $redis_rps/s"

echo "== phases, $clients clients each"
first=$((entries + 1))
run burst --first-member "$first" --members "$burst" --admin "$admin" --pending "$work/pending.jsonl"
run submit --pending "$work/pending.jsonl"
first=$((first + burst))
run take --first-member "$first" --members "$take" --admin "$admin"
first=$((first + take))
run top50 --seconds "$seconds"
run me --seconds "$seconds"
run mixed --seconds "$seconds" --first-member "$first" --members "$mixed" --admin "$admin"
load_peak="$(rss VmHWM)"
echo "server peak RSS under load: $load_peak MiB"
week+=(--week "server_peak_rss_under_load_mib=$load_peak")

echo "== the week ends: round 1 closes, the judges finalize and export"
sql "UPDATE rounds SET closes_at = now() - interval '10 minutes' WHERE id = '$round'" >/dev/null
token="$(curl -fsS -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"login": "judge@bench.invalid", "password": "bench judge password"}' |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')"
# Each step: wall time, bytes, and the server's peak RSS during it (reset before it).
step() {
    local key="$1" url="$2" method="${3:-GET}"
    echo 5 >"/proc/$server/clear_refs"
    local out code s bytes
    out="$(curl -fsS -X "$method" -o "$work/body" -w '%{http_code} %{time_total} %{size_download}' \
        -H "Authorization: Bearer $token" "$url")"
    read -r code s bytes <<<"$out"
    printf '%-16s %s %8.2f s %12s bytes   server peak RSS %s MiB\n' "$key" "$code" "$s" "$bytes" "$(rss VmHWM)"
    week+=(--week "${key}_s=$s" --week "${key}_peak_rss_mib=$(rss VmHWM)")
}
step finalize "$base/api/v1/rounds/$round/finalize" POST
ranked="$(sed -E 's/.*"ranked":([0-9]+).*/\1/' "$work/body")"
step winners_json "$base/api/v1/rounds/$round/winners"
step winners_xlsx "$base/api/v1/rounds/$round/winners?format=xlsx"
step results_csv "$base/api/v1/rounds/$round/results?format=csv"
rows=$(($(wc -l <"$work/body") - 1))
echo "ranked $ranked members; the CSV has $rows rows"
[[ "$rows" == "$ranked" ]] || { echo "the CSV's rows differ from the ranking" >&2; exit 1; }
week+=(--week "ranked=$ranked")

mkdir -p load-tests/results
"$load" summary --phases "$work" --clients "$clients" --pgbench-tps "$pgbench_tps" \
    --redis-zadd-rps "$redis_rps" "${week[@]}" \
    --about "cores=$(nproc)" --about "entries=$entries" --about "profile=$profile" \
    --about "server_pool=$pool" --about "smoke=$smoke" \
    --about "postgresql=$(psql -Atq "$DATABASE_URL" -c 'SHOW server_version')" \
    --about "redis=$(redis-cli -u "$REDIS_URL" INFO server | tr -d '\r' | sed -n 's/^redis_version://p')" \
    --out "load-tests/results/$name.json" >/dev/null
echo "== load-tests/results/$name.json"
errors="$(sed -nE 's/^  "errors": ([0-9]+),?$/\1/p' "load-tests/results/$name.json")"
if [[ "$errors" != 0 ]]; then
    echo "$errors requests failed their checks" >&2
    exit 1
fi
