#!/usr/bin/env bash
# Judging a big week: a release server over a database of its own holding round 1 of the
# demo contest with N ended entries (default 1,000,000), one per member, spread over 630
# units and seeded with COPY. Times finalize, the winners export, the full results CSV
# (HTTP and CLI), the full results XLSX and a rebuild of the round's Redis leaderboard,
# each with the peak RSS of the process doing it.
# The server's log goes to a file ($work/server.log, removed at the end).
# Usage: scripts/bench-judging.sh [entries]   (HOITHI_BENCH_KEEP=1 keeps the database)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
root="$(hoithi_root)"
cd "$root"
entries="${1:-1000000}"

hoithi_setup
export HOITHI_JWT_SECRET
for tool in gawk /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install gawk time)" >&2; exit 1; }
done
hoithi_bench_db hoithi_bench_judging
work="$(mktemp -d)"
"$bin" contest import contests/cuoc-thi-demo >/dev/null
printf 'bench judge password\n' |
    "$bin" user create --role admin --login judge@bench.invalid --name "Ban giám khảo" --password-stdin >/dev/null

port=$((20000 + RANDOM % 20000))
prefix="hoithi_bench:$$:"
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
    if [ -n "${HOITHI_BENCH_KEEP:-}" ]; then
        echo "kept the database: ${DATABASE_URL}"
    else
        hoithi_bench_drop
    fi
    redis-cli -u "$REDIS_URL" --scan --pattern "${prefix}*" | xargs -r redis-cli -u "$REDIS_URL" DEL >/dev/null
}
trap cleanup EXIT

# Round 1 ran last week and closed an hour ago.
round="$(psql -Atq "$DATABASE_URL" -c "UPDATE rounds SET opens_at = now() - interval '7 days 1 hour',
    closes_at = now() - interval '1 hour' WHERE number = 1 RETURNING id")"
questions="$(psql -Atq "$DATABASE_URL" -c "SELECT question_count FROM rounds WHERE id = '$round'")"
limit_ms="$(psql -Atq "$DATABASE_URL" -c "SELECT time_limit_seconds * 1000 FROM rounds WHERE id = '$round'")"

echo "== seeding $entries entries with COPY"
start=$SECONDS
# A province, 30 districts, 20 communes in each.
awk 'BEGIN {
    printf "00000000-0000-4000-9000-000000000000,T01,Tỉnh Bình An,,0\n";
    for (d = 1; d <= 30; d++) {
        printf "00000000-0000-4000-9000-%012d,H%02d,Huyện %d,00000000-0000-4000-9000-000000000000,0\n", d * 100, d, d;
        for (x = 1; x <= 20; x++)
            printf "00000000-0000-4000-9000-%012d,H%02dX%02d,Xã %d huyện %d,00000000-0000-4000-9000-%012d,%d\n", d * 100 + x, d, x, x, d, d * 100, 1500 + (d * 37 + x * 11) % 900;
    }
}' | psql -q "$DATABASE_URL" -c "\copy units (id, code, name, parent_id, member_count) FROM STDIN WITH (FORMAT csv)"
awk -v n="$entries" 'BEGIN {
    split("Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương", family, " ");
    split("Thị Văn Thị Hữu Thị Đức Thị Minh", middle, " ");
    split("Lan Hòa Hương Thu Mai Hạnh Dũng Nam Hùng Tuấn Linh Ngọc Phương Trang Yến", given, " ");
    for (i = 1; i <= n; i++) {
        d = 1 + i % 30; x = 1 + int(i / 30) % 20;
        printf "00000000-0000-4000-8000-%012d,member,+8491%07d,%s %s %s,x,%012d,00000000-0000-4000-9000-%012d\n",
            i, i, family[1 + i % 15], middle[1 + i % 8], given[1 + int(i / 7) % 15], 1000000000 + i, d * 100 + x;
    }
}' | psql -q "$DATABASE_URL" -c "\copy accounts (id, role, phone, full_name, password_hash, id_number, unit_id) FROM STDIN WITH (FORMAT csv)"
opens="$(psql -Atq "$DATABASE_URL" -c "SELECT extract(epoch FROM opens_at)::bigint FROM rounds WHERE id = '$round'")"
gawk -v n="$entries" -v round="$round" -v q="$questions" -v limit="$limit_ms" -v opens="$opens" 'BEGIN {
    srand(20261123);
    paper = "{"; order = "{"; answers = "{";
    for (k = 1; k <= q; k++) {
        sep = (k < q) ? "," : "";
        paper = paper "00000000-0000-4000-a000-000000000001" sep; order = order "8" sep; answers = answers "0" sep;
    }
    paper = paper "}"; order = order "}"; answers = answers "}";
    for (i = 1; i <= n; i++) {
        # Most get most questions right: a real quiz skews high.
        correct = int(q * (1 - rand() ^ 2.5) + 0.5); if (correct > q) correct = q;
        duration = 20000 + int(rand() * (limit - 20000));
        started = opens + int(rand() * 7 * 86400);
        prediction = (rand() < 0.05) ? "" : int(n * (0.6 + rand() * 0.8));
        printf "%s,00000000-0000-4000-8000-%012d,1,submitted,%s,%s,\"%s\",\"%s\",\"%s\",%s,%s,%d,%d,%d\n",
            round, i, strftime("%Y-%m-%dT%H:%M:%SZ", started, 1), strftime("%Y-%m-%dT%H:%M:%SZ", started + limit / 1000, 1),
            paper, order, answers, prediction, strftime("%Y-%m-%dT%H:%M:%SZ", started + duration / 1000, 1), duration, correct, q;
    }
}' | psql -q "$DATABASE_URL" -c "\copy attempts (round_id, member_id, number, state, started_at, deadline, paper_revisions, paper_option_order, answers, prediction, submitted_at, duration_ms, correct, total) FROM STDIN WITH (FORMAT csv)"
psql -q "$DATABASE_URL" -c "ANALYZE"
printf 'seeded in %d s: %s\n' "$((SECONDS - start))" \
    "$(psql -Atq "$DATABASE_URL" -c "SELECT count(*) || ' entries, ' || pg_size_pretty(pg_database_size(current_database())) FROM attempts")"

HOITHI_LISTEN="127.0.0.1:$port" HOITHI_REDIS_PREFIX="$prefix" RUST_LOG=warn "$bin" serve 2>"$work/server.log" &
server=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
base="http://127.0.0.1:$port/api/v1"
token="$(curl -fsS -X POST "$base/auth/login" -H 'Content-Type: application/json' \
    -d '{"login": "judge@bench.invalid", "password": "bench judge password"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"

rss_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status"; }
# Each step: wall time, what came back, and the server's peak RSS during it (the peak is
# reset before each step through /proc/PID/clear_refs).
step() {
    local name="$1" url="$2" method="${3:-GET}" data="${4:-}"
    echo 5 >"/proc/$server/clear_refs"
    local out
    out="$(curl -fsS -X "$method" -o "$work/body" -w '%{http_code} %{time_total} %{size_download}' \
        -H "Authorization: Bearer $token" ${data:+-H 'Content-Type: application/json' --data "$data"} "$url")"
    read -r code seconds bytes <<<"$out"
    printf '%-28s %s  %8.2f s  %10s bytes  server peak RSS %s MiB\n' "$name" "$code" "$seconds" "$bytes" "$(rss_mib)"
}

echo "== $(nproc) cores; round $round: $entries entries, $questions questions"
echo "server RSS at rest: $(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status") MiB"
step "finalize" "$base/rounds/$round/finalize" POST
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print("  actual value", d["actual_value"], "| ranked", d["ranked"], "| winners", len(d["winners"]))' "$work/body"
first="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["winners"][0]["member_id"])' "$work/body")"
step "finalize again" "$base/rounds/$round/finalize" POST
step "disqualify the first prize" "$base/rounds/$round/winners/$first/disqualify" POST '{"reason": "bench"}'
step "winners json" "$base/rounds/$round/winners"
step "winners xlsx" "$base/rounds/$round/winners?format=xlsx"
step "results page (json, 500)" "$base/rounds/$round/results?limit=500&offset=$((entries / 2))"
step "results csv (full)" "$base/rounds/$round/results?format=csv"
echo "  $(wc -l <"$work/body") lines"
step "results xlsx (full)" "$base/rounds/$round/results?format=xlsx"
step "contest winners xlsx" "$base/contests/cuoc-thi-demo/winners?format=xlsx"

echo "== command line (peak RSS of the hoithi process)"
/usr/bin/time -f "%e s, peak RSS %M KiB" -o "$work/time" \
    env HOITHI_REDIS_PREFIX="$prefix" "$bin" leaderboard rebuild --round "$round" >/dev/null
printf '%-28s %s, %s entries on the board\n' "leaderboard rebuild (Redis)" "$(cat "$work/time")" \
    "$(redis-cli -u "$REDIS_URL" --scan --pattern "${prefix}*" | head -100 | while read -r key; do
        [ "$(redis-cli -u "$REDIS_URL" TYPE "$key")" = zset ] && redis-cli -u "$REDIS_URL" ZCARD "$key"; done | sort -n | tail -1)"
for format in csv xlsx; do
    /usr/bin/time -f "%e s, peak RSS %M KiB" -o "$work/time" \
        "$bin" export results --round "$round" --format "$format" -o "$work/results.$format" >/dev/null
    printf '%-28s %s, %s bytes\n' "export results $format" "$(cat "$work/time")" "$(stat -c %s "$work/results.$format")"
done
