#!/usr/bin/env bash
# The fault suite: members take round 1 of the demo contest, submitting with retries as the
# app does on a bad link, while one part of the system fails under them:
#   redis     Redis is killed (SIGKILL, it keeps nothing on disk) and restarted empty;
#   server    the hoithi server is killed with SIGKILL mid-load and started again;
#   postgres  PostgreSQL is stopped hard (pg_ctl stop -m immediate) and started again;
#   cluster   three servers behind HAProxy, every start and submission sent twice at once
#             (through different servers), one server SIGKILLed and restarted; then the
#             rate limits and attempt limits must hold across servers, attempts that run
#             out must each be closed once by the three sweepers, and a board rebuild
#             must run once.
# Afterwards `hoithi-load fault verify` holds what was acknowledged (answered 200) against
# PostgreSQL: lost, duplicated and wrongly graded submissions must be 0, the live
# leaderboard must equal PostgreSQL's entries, a 503 must carry Retry-After, nothing may
# answer 500 or panic; it reports how long each fault made the service unavailable and how
# soon it recovered. The figures go to load-tests/results/faults.json (--short: faults-short.json).
#
# PostgreSQL and Redis here are private to the suite (their own data directory and ports),
# so killing them disturbs nothing else.
#
# Usage: scripts/fault-tests.sh [--short] [SCENARIO...]   (default: all four)
#   --short  a small run that CI does (10 members at a time, 12 s per scenario).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
root="$(hoithi_root)"
cd "$root"

if [[ "${1:-}" == --short ]]; then
    shift
    members=20000 concurrency=10 seconds=12 name=faults-short
else
    members=50000 concurrency=40 seconds=40 name=faults
fi
scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(redis server postgres cluster)
for s in "${scenarios[@]}"; do
    [[ "$s" =~ ^(redis|server|postgres|cluster)$ ]] ||
        hoithi_die "unknown scenario $s (redis, server, postgres, cluster)"
done

hoithi_ensure_packages
# Its own PostgreSQL and Redis servers, even when DATABASE_URL / REDIS_URL name others.
[[ -n "$(_hoithi_pg_bindir)" ]] || _hoithi_apt_install postgresql
command -v redis-server >/dev/null || _hoithi_apt_install redis-server
command -v jq >/dev/null || _hoithi_apt_install jq
command -v haproxy >/dev/null || _hoithi_apt_install haproxy
command -v curl >/dev/null || _hoithi_apt_install curl
hoithi_jwt_secret
export HOITHI_JWT_SECRET
# The same build as scripts/test.sh's, so nothing is compiled twice.
SQLX_OFFLINE=true cargo build --workspace --locked --all-targets
target="${CARGO_TARGET_DIR:-$root/target}/debug"
bin="$target/hoithi" load="$target/hoithi-load"

work="$root/.local/fault"
results="$root/load-tests/results"
mkdir -p "$work" "$results"
rm -f "$work"/*.json "$work"/*.acks "$work"/*.timeline "$work"/*.log

# ---------------------------------------------------------------- private services
pg_bindir="$(_hoithi_pg_bindir)"
_hoithi_pg_prepare_dir # decides which user runs PostgreSQL (_HOITHI_PG_USER)
pgdir="$work/pg"
rm -rf "$pgdir"
mkdir -p "$pgdir"
chmod go+x "$work" "$root/.local"
chown "$_HOITHI_PG_USER:" "$pgdir"
chmod 700 "$pgdir"
sockdir="$(mktemp -d /tmp/hoithi-fault-XXXXXX)"
chown "$_HOITHI_PG_USER:" "$sockdir"
pg_port="$(_hoithi_pick_port 55400)"
redis_port="$(_hoithi_pick_port 64400)"
port="$(_hoithi_pick_port 18400)"
_hoithi_pg_run "$pg_bindir/initdb" -D "$pgdir/data" --auth=trust -U postgres --encoding=UTF8 \
    --locale=C >"$pgdir/initdb.log" 2>&1 || { cat "$pgdir/initdb.log" >&2; exit 1; }
_hoithi_pg_run tee -a "$pgdir/data/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$sockdir'
EOF

ms() { date +%s%3N; }
seconds_since() { awk -v a="$1" -v b="$(ms)" 'BEGIN { printf "%.2f", (b - a) / 1000 }'; }
# Runs the command "$3"... every 50 ms until it succeeds, at most $2 times; dies saying $1.
retry_until() {
    local failure="$1" tries="$2"
    shift 2
    for _ in $(seq "$tries"); do
        "$@" && return 0
        sleep 0.05
    done
    hoithi_die "$failure"
}
answers_200() { [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" == 200 ]]; }
# Polls $1 until it answers 200; prints the seconds it took from $2 (epoch ms).
wait_ok() {
    retry_until "$1 did not answer 200 within 30 s" 600 answers_200 "$1"
    seconds_since "$2"
}

pg_start() { _hoithi_pg_run "$pg_bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w -t 60 start >/dev/null; }
pg_crash() { _hoithi_pg_run "$pg_bindir/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null; }
pg_stop() { _hoithi_pg_run "$pg_bindir/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 || true; }
redis_start() {
    redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --dir "$work" \
        --pidfile "$work/redis.pid" --logfile "$work/redis.log" --save "" --appendonly no >/dev/null
    retry_until "Redis did not start (log: $work/redis.log)" 200 redis_pongs
}
redis_pongs() { [[ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" == PONG ]]; }
redis_kill() {
    local pid
    pid="$(cat "$work/redis.pid")"
    kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    rm -f "$work/redis.pid"
}

# Servers by number: 1 always, 2 and 3 for the cluster; each on its own port and log.
declare -A pids=() ports=()
ports[1]="$port"
base="http://127.0.0.1:$port"
server_start() {
    local n="${1:-1}"
    HOITHI_LISTEN="127.0.0.1:${ports[$n]}" HOITHI_SWEEP_INTERVAL_MS=1000 \
        RUST_LOG="warn,hoithi::leaderboard=info,hoithi::taking::sweeper=info" "$bin" serve >>"$work/server$n.log" 2>&1 &
    pids[$n]=$!
    retry_until "server $n did not start (log: $work/server$n.log)" 300 \
        answers_200 "http://127.0.0.1:${ports[$n]}/healthz"
}
server_kill() {
    local n="${1:-1}"
    kill -9 "${pids[$n]}"
    wait "${pids[$n]}" 2>/dev/null || true
    unset "pids[$n]"
}
haproxy_pid=""

cleanup() {
    local pid
    for pid in "${pids[@]}" $haproxy_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    [[ -f "$work/redis.pid" ]] && kill "$(cat "$work/redis.pid")" 2>/dev/null || true
    pg_stop
    rm -rf "$sockdir"
}
trap cleanup EXIT

pg_start
redis_start
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/hoithi"
export REDIS_URL="redis://127.0.0.1:$redis_port/" HOITHI_REDIS_PREFIX="hoithi_fault:"
psql -Xq "postgres://postgres@127.0.0.1:$pg_port/postgres" -c "CREATE DATABASE hoithi"
sql() { psql -XAtq -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }
"$bin" migrate >/dev/null
"$bin" contest import contests/cuoc-thi-demo >/dev/null
printf 'fault judge password\n' |
    "$bin" user create --role admin --login judge@fault.invalid --name "Ban giám khảo" --password-stdin >/dev/null
admin="$(sql "SELECT id FROM accounts WHERE email = 'judge@fault.invalid'")"
round="$(sql "UPDATE rounds SET opens_at = now() - interval '1 day', closes_at = now() + interval '2 hours'
    WHERE number = 1 RETURNING id")"
# Each scenario plays its own members, and has `spare` more for the cluster's probes.
spare=22
"$load" seed --round "$round" --members $(((members + spare) * ${#scenarios[@]} + 1)) --entries 0 >/dev/null
server_start


# The cluster: servers 2 and 3 beside 1, HAProxy in front (round robin, /readyz checks).
cluster_start() {
    ports[2]="$(_hoithi_pick_port 18500)"
    server_start 2
    ports[3]="$(_hoithi_pick_port 18600)"
    server_start 3
    local lb_port
    lb_port="$(_hoithi_pick_port 18700)"
    cat >"$work/haproxy.cfg" <<EOF
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # A refused connection (the killed server, before its check fails) goes to another.
    retries 2
    option redispatch 1
frontend members
    bind 127.0.0.1:$lb_port
    default_backend hoithi
backend hoithi
    balance roundrobin
    option httpchk GET /readyz
    server s1 127.0.0.1:${ports[1]} check inter 300ms fall 1 rise 1
    server s2 127.0.0.1:${ports[2]} check inter 300ms fall 1 rise 1
    server s3 127.0.0.1:${ports[3]} check inter 300ms fall 1 rise 1
EOF
    haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
    haproxy_pid=$!
    base="http://127.0.0.1:$lb_port"
    retry_until "HAProxy did not start (log: $work/haproxy.log)" 200 answers_200 "$base/healthz"
}

# Through the balancer, one member's starts reach all three servers: the 31st within ten
# minutes must still be refused (the limit is counted in Redis, not per server).
rate_limit_shared() {
    local token code i
    token="$("$load" token --member "$1")"
    for i in $(seq 31); do
        code="$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "authorization: Bearer $token" \
            "$base/api/v1/rounds/$round/attempts")"
        if ((i <= 30)) && [[ "$code" != 200 && "$code" != 201 ]]; then
            hoithi_die "start $i through the balancer answered $code"
        fi
    done
    [[ "$code" == 429 ]] || hoithi_die "the 31st start answered $code, not 429: limits are not shared"
    echo true
}

# One member's attempts, up to the round's max_attempts, each started and submitted
# wherever the balancer sends it; the next start must be refused all the same.
attempt_limit_held() {
    local token id code i max
    token="$("$load" token --member "$1")"
    max="$(sql "SELECT max_attempts FROM rounds WHERE id = '$round'")"
    for i in $(seq "$max"); do
        id="$(curl -fs -X POST -H "authorization: Bearer $token" "$base/api/v1/rounds/$round/attempts" | jq -r .id)"
        curl -fs -o /dev/null -X POST -H "authorization: Bearer $token" -H 'content-type: application/json' \
            -d '{"answers": [], "prediction": 1}' "$base/api/v1/attempts/$id/submit" ||
            hoithi_die "submitting attempt $i through the balancer failed"
    done
    code="$(curl -s -o "$work/over.json" -w '%{http_code}' -X POST -H "authorization: Bearer $token" \
        "$base/api/v1/rounds/$round/attempts")"
    [[ "$code" == 409 ]] && jq -e '.code == "max_attempts_reached"' "$work/over.json" >/dev/null ||
        hoithi_die "start $((max + 1)) answered $code: $(cat "$work/over.json")"
    echo true
}

# Members $1..$2 start and leave; their time runs out (moved into the past here) while
# three sweepers run. Each attempt must be closed once, by one of them: the closings the
# three servers log add up to exactly the attempts that ran out.
sweeper_once() {
    local i token before after expired ids
    closed() { cat "$work"/server[123].log | grep -o '"closed":[0-9]*' | awk -F: '{ n += $2 } END { print n + 0 }'; }
    for i in $(seq "$1" "$2"); do
        token="$("$load" token --member "$i")"
        curl -fs -o /dev/null -X POST -H "authorization: Bearer $token" "$base/api/v1/rounds/$round/attempts"
    done
    before="$(closed)"
    ids="SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid
        FROM generate_series($1, $2) i"
    sql "UPDATE attempts SET started_at = now() - interval '20 minutes',
                            deadline = now() - interval '1 minute'
          WHERE state = 'in_progress' AND member_id IN ($ids)"
    sleep 4
    after="$(closed)"
    expired="$(sql "SELECT count(*) FROM attempts WHERE state = 'expired' AND member_id IN ($ids)")"
    [[ "$expired" == $(($2 - $1 + 1)) && $((after - before)) == "$expired" ]] ||
        hoithi_die "$expired of $(($2 - $1 + 1)) attempts expired, $((after - before)) closings logged"
    echo "$expired"
}

# The round's board is dropped; 60 readers ask all three servers for it at once. One
# rebuild must run (the others wait for it), not one per server or per reader.
rebuilds_once() {
    local before after
    before="$(cat "$work"/server[123].log | grep -c 'rebuilt a round leaderboard' || true)"
    redis-cli -p "$redis_port" DEL "${HOITHI_REDIS_PREFIX}lb:r:$round:ready" >/dev/null
    seq 60 | xargs -P 60 -I{} curl -s -o /dev/null "$base/api/v1/rounds/$round/leaderboard"
    after="$(cat "$work"/server[123].log | grep -c 'rebuilt a round leaderboard' || true)"
    echo $((after - before))
}

first=1
reports=()
for scenario in "${scenarios[@]}"; do
    twice=()
    if [[ "$scenario" == cluster ]]; then
        cluster_start
        twice=(--twice)
    fi
    echo "== $scenario: members take the round $concurrency at a time for $seconds s; the fault a third of the way in"
    "$load" fault take --base "$base" --round "$round" --admin "$admin" \
        --first-member "$first" --members "$members" --concurrency "$concurrency" \
        --seconds "$seconds" --acks "$work/$scenario.acks" --timeline "$work/$scenario.timeline" \
        --out "$work/$scenario.take.json" "${twice[@]}" &
    driver=$!
    first=$((first + members + spare))
    sleep $((seconds / 3))
    figures=()
    fault_at="$(ms)"
    case "$scenario" in
    redis)
        redis_kill
        sleep 3
        redis_start
        restored_at="$(ms)"
        ;;
    server | cluster)
        # Alone, the only server; in the cluster, one of three (the balancer routes around it).
        victim=1
        [[ "$scenario" == cluster ]] && victim=2
        server_kill "$victim"
        sleep 1
        restored_at="$(ms)"
        server_start "$victim"
        figures+=(--figure "server_serving_after_start_s=$(seconds_since "$restored_at")")
        ;;
    postgres)
        pg_crash
        # While PostgreSQL is down: readiness says so, and a member's call fails fast.
        t="$(ms)"
        ready_code="$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")"
        figures+=(--figure "readyz_while_down=$ready_code" --figure "readyz_while_down_s=$(seconds_since "$t")")
        [[ "$ready_code" == 503 ]] || hoithi_die "/readyz answered $ready_code with PostgreSQL down"
        sleep 1
        # By now the outage is confirmed: a member's call is answered 503 without waiting.
        t="$(ms)"
        code="$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/api/v1/rounds/$round/attempts" \
            -H "authorization: Bearer $("$load" token --member 1)")"
        figures+=(--figure "start_while_down=$code" --figure "start_while_down_s=$(seconds_since "$t")")
        [[ "$code" == 503 ]] || hoithi_die "a start answered $code with PostgreSQL down"
        sleep 2
        pg_start
        restored_at="$(ms)"
        figures+=(--figure "ready_after_postgres_back_s=$(wait_ok "$base/readyz" "$restored_at")")
        ;;
    esac
    wait "$driver"
    if [[ "$scenario" == cluster ]]; then
        # Each probe dies on a broken guarantee; plain assignments so `set -e` sees it.
        s0=$((first - spare))
        shared="$(rate_limit_shared "$s0")"
        held="$(attempt_limit_held $((s0 + 1)))"
        expired="$(sweeper_once $((s0 + 2)) $((s0 + spare - 1)))"
        figures+=(--figure "rate_limits_shared=$shared" --figure "attempt_limit_held=$held"
            --figure "expired_by_3_sweepers_each_once=$expired")
        rebuilds="$(rebuilds_once)"
        figures+=(--figure "board_rebuilds_for_60_readers_on_3_servers=$rebuilds")
        [[ "$rebuilds" == 1 ]] || hoithi_die "the board was rebuilt $rebuilds times, not once"
    fi
    panics="$(cat "$work"/server*.log | grep -c 'panicked' || true)"
    figures+=(--figure "fault_lasted_s=$(awk -v a="$fault_at" -v b="$restored_at" 'BEGIN { printf "%.2f", (b - a) / 1000 }')"
        --figure "server_panics=$panics")
    "$load" fault verify --round "$round" --scenario "$scenario" --base "$base" \
        --first-member "$((first - members - spare))" --members "$members" \
        --acks "$work/$scenario.acks" --timeline "$work/$scenario.timeline" \
        --take "$work/$scenario.take.json" --fault-at "$fault_at" --restored-at "$restored_at" \
        "${figures[@]}" --out "$work/$scenario.json" >/dev/null
    [[ "$panics" == 0 ]] || hoithi_die "a server panicked (logs: $work/server*.log)"
    reports+=("$work/$scenario.json")
    jq -r '"   \(.acknowledged) acknowledged, \(.lost) lost, \(.duplicated) duplicated, \(.wrong_grades) wrongly graded; unavailable \(.requests.unavailable_s) s, recovered \(.requests.recovered_after_restore_s) s after the restore; leaderboard equals PostgreSQL: \(.leaderboard_equals_postgres)"' "$work/$scenario.json"
done

jq -s '{about: "scripts/fault-tests.sh: acknowledged = submissions answered 200; lost = acknowledged but missing or different in PostgreSQL; duplicated = members with more than one attempt; times in seconds", scenarios: .}' \
    "${reports[@]}" >"$results/$name.json"
echo "== every guarantee held; figures in load-tests/results/$name.json"
