#!/usr/bin/env bash
# Logins per second: a release server against its own database, one member logging in
# from many client addresses (wrk, from Debian's package). Usage: scripts/bench-login.sh [seconds] [connections]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
root="$(hoithi_root)"
cd "$root"
duration="${1:-15}"
connections="${2:-16}"

hoithi_setup
command -v wrk >/dev/null 2>&1 || _hoithi_apt_install wrk
hoithi_bench_db hoithi_bench_login

port=$((20000 + RANDOM % 20000))
HOITHI_LISTEN="127.0.0.1:$port" HOITHI_TRUST_FORWARDED_FOR=true HOITHI_REDIS_PREFIX="hoithi_bench:$$:" \
    RUST_LOG=warn "$bin" serve &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; hoithi_bench_drop' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d '{"phone": "0912345678", "full_name": "Người đo", "password": "bench password 1"}'

echo "== wrk: ${duration}s, $connections connections, $(nproc) cores"
wrk -t2 -c"$connections" -d"${duration}s" --latency -s load-tests/login.lua "http://127.0.0.1:$port/api/v1/auth/login"
