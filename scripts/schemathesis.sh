#!/usr/bin/env bash
# Contract fuzzing: schemathesis reads /api/openapi.json and sends generated requests, valid
# and invalid, to every operation, once as a member, once as an organizer and once as a
# judge of the demo contest. Every answer is checked against the document: no 5xx, only
# documented status codes, content types and headers, bodies that match their schema (the
# attempt paper admits no key it does not declare), invalid input refused, tokens required
# where declared. The checks and their one exception are in scripts/schemathesis.toml.
#
# A server over a database of its own holds the demo contest with round 1 open. The member
# registers through the API and starts an attempt; the organizer owns the contest (contest
# import --owner); the judge is put on its staff. schemathesis is told the real ids (rounds,
# contest, the attempt, its questions and options) to use in half of its cases, so that
# requests reach past the 404 of a random id. 429 (the rate limits) is documented where it
# is answered and counts as no failure.
#
# Prints per token the operations tested, the cases generated and the failures per check;
# exits 1 on any failure or error. Reports in target/schemathesis/: <token>.xml (JUnit),
# <token>.ndjson (every request and answer), <token>.log (schemathesis's own report, with
# a curl command per failure), openapi.json (the document tested), server.log.
#
# Usage: scripts/schemathesis.sh [--max-examples N] [-- SCHEMATHESIS_RUN_ARGS...]
#   --max-examples  cases per operation in the fuzzing phase (default 50: the whole script
#                   takes about 90 s on 2 cores once the workspace is built; 100 took 150 s)
#   after --        more `schemathesis run` options, e.g. --include-path-regex '^/api/v1/me'
# HOITHI_SCHEMATHESIS_SEED replays a run: its seed is printed at the start.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
root="$(hoithi_root)"
cd "$root"

max_examples=50
extra=()
while (($# > 0)); do
    case "$1" in
    --)
        shift
        extra=("$@")
        break
        ;;
    --max-examples)
        max_examples="${2:-}"
        shift 2 || hoithi_die "--max-examples needs a number"
        ;;
    --max-examples=*)
        max_examples="${1#*=}"
        shift
        ;;
    *) hoithi_die "usage: scripts/schemathesis.sh [--max-examples N] [-- SCHEMATHESIS_RUN_ARGS...]" ;;
    esac
done
[[ "$max_examples" =~ ^[1-9][0-9]*$ ]] || hoithi_die "--max-examples must be a whole number ≥ 1, not '$max_examples'"

# schemathesis from PyPI, at the pinned version, in a virtualenv of its own.
venv="$root/.local/schemathesis"
requirements="$root/scripts/schemathesis-requirements.txt"
if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
    command -v python3 >/dev/null || _hoithi_apt_install python3
    python3 -m venv --help >/dev/null 2>&1 || _hoithi_apt_install python3-venv
    hoithi_log "installing schemathesis into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
fi

hoithi_setup
export HOITHI_JWT_SECRET
hoithi_bench_db "hoithi_schemathesis_$$" dev

reports="${CARGO_TARGET_DIR:-$root/target}/schemathesis"
rm -rf "$reports"
mkdir -p "$reports"
work="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
prefix="hoithi_schemathesis:$$:"
server=""
cleanup() {
    if [[ -n "$server" ]]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    if [[ -f "$work/server.log" ]]; then
        cp "$work/server.log" "$reports/server.log"
    fi
    rm -rf "$work"
    hoithi_bench_drop
    redis-cli -u "$REDIS_URL" --scan --pattern "${prefix}*" | xargs -r redis-cli -u "$REDIS_URL" DEL >/dev/null
}
trap cleanup EXIT
export HOITHI_REDIS_PREFIX="$prefix"

sql() { psql -Atq -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }
staff_password='schemathesis staff password'
staff() {
    printf '%s\n' "$staff_password" |
        "$bin" user create --role "$1" --login "$2" --name "Ban tổ chức" --password-stdin >/dev/null
}
staff organizer organizer@schemathesis.invalid
staff judge judge@schemathesis.invalid
"$bin" contest import contests/cuoc-thi-demo --owner organizer@schemathesis.invalid >/dev/null
# The CLI has no command for judges of a contest; the tests put them on the staff so too.
sql "INSERT INTO contest_staff (contest_id, account_id, role)
     SELECT c.id, a.id, 'judge' FROM contests c, accounts a
     WHERE c.slug = 'cuoc-thi-demo' AND a.email = 'judge@schemathesis.invalid'"
round="$(sql "SELECT r.id FROM rounds r JOIN contests c ON c.id = r.contest_id
    WHERE c.slug = 'cuoc-thi-demo' AND r.number = 1")"

HOITHI_LISTEN="127.0.0.1:$port" RUST_LOG=warn "$bin" serve >"$work/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.2; done
curl -fs "$base/readyz" >/dev/null || hoithi_die "the server did not become ready (log: $reports/server.log)"
curl -fsS "$base/api/openapi.json" >"$reports/openapi.json"

post() { curl -fsS -X POST "$base$1" -H 'Content-Type: application/json' "${@:3}" -d "$2"; }
field() { "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# Each account's session: its refresh token is traded for a fresh access token (15 minutes)
# right before its run. Refreshing is not rate-limited; logging in again after a run that
# flooded the login endpoint would be.
declare -A session
login() {
    post /api/v1/auth/login "{\"login\": \"$1\", \"password\": \"$2\"}" >"$work/login.json"
    session[$3]="$(field refresh_token <"$work/login.json")"
}
member_password='mật khẩu 123'
post /api/v1/auth/register "{\"phone\": \"0912000111\", \"full_name\": \"Nguyễn Thị Hoà\",
    \"password\": \"$member_password\"}" >"$work/registered.json"
member_id="$("$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["member"]["id"])' \
    <"$work/registered.json")"
login 0912000111 "$member_password" member
login organizer@schemathesis.invalid "$staff_password" organizer
login judge@schemathesis.invalid "$staff_password" judge
# Sets `token` (not printed: in a subshell the rotated refresh token would be lost, and
# presenting the old one again ends the session).
refresh() {
    post /api/v1/auth/refresh "{\"refresh_token\": \"${session[$1]}\"}" >"$work/pair.json"
    session[$1]="$(field refresh_token <"$work/pair.json")"
    token="$(field access_token <"$work/pair.json")"
}

# The member's attempt in progress, so that the paper's operations have something real to
# answer. Generated ids name nothing, so schemathesis is also given the real ones
# (dictionaries) to use in half its cases: the rounds, the contest by id and slug, the
# attempt and some questions, the member, and the paper's questions and options in answers.
refresh member
post "/api/v1/rounds/$round/attempts" '{}' -H "Authorization: Bearer $token" >"$work/attempt.json"
config="$reports/schemathesis.toml"
cp scripts/schemathesis.toml "$config"
"$venv/bin/python" - "$work/attempt.json" \
    "$(sql "SELECT string_agg(r.id::text, ' ' ORDER BY r.number) FROM rounds r
        JOIN contests c ON c.id = r.contest_id WHERE c.slug = 'cuoc-thi-demo'")" \
    "$(sql "SELECT id FROM contests WHERE slug = 'cuoc-thi-demo'") cuoc-thi-demo" \
    "$(sql "SELECT string_agg(q.id::text, ' ') FROM (SELECT q.id FROM questions q
        JOIN contests c ON c.id = q.contest_id WHERE c.slug = 'cuoc-thi-demo' LIMIT 5) q")" \
    "$member_id" >>"$config" <<'PY'
import json, sys

attempt = json.load(open(sys.argv[1], encoding="utf-8"))
rounds, contests, questions, members = (arg.split() for arg in sys.argv[2:])
dictionaries = {
    "rounds": rounds,
    "contests": contests,
    "ids": [attempt["id"], *questions],
    "members": members,
    "paper_questions": [q["id"] for q in attempt["questions"]],
    "paper_options": [o["id"] for q in attempt["questions"] for o in q["options"]],
}
bindings = {
    "path.round": "rounds",
    "query.round": "rounds",
    "path.contest": "contests",
    "path.id": "ids",
    "path.member_id": "members",
    "body.answers[*].question_id": "paper_questions",
    "body.answers[*].option_ids[*]": "paper_options",
}
print("\n# Written by scripts/schemathesis.sh for this run.")
for name, values in dictionaries.items():
    print(f"[dictionaries.{name}]\nvalues = {json.dumps(values)}")
print("[parameters]")
for key, name in bindings.items():
    print(f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}')
PY

# Which checks run, and the one exception, are in scripts/schemathesis.toml.
seed="${HOITHI_SCHEMATHESIS_SEED:-$RANDOM$RANDOM}"
echo "== schemathesis $("$venv/bin/schemathesis" --version | awk '{ print $NF }') against $base/api/openapi.json, $max_examples examples, seed $seed"

# Operations with at least one case sent, the cases, and per check: cases checked, failed.
summary() {
    "$venv/bin/python" - "$1" <<'PY'
import json, sys
from collections import Counter

operations, cases, checked, failed, errors = set(), set(), Counter(), Counter(), 0
with open(sys.argv[1], encoding="utf-8") as events:
    for line in events:
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        errors += finished["status"] == "error"
        recorder = finished["recorder"]
        # Stateful scenarios span operations; they are counted by their cases.
        if finished["status"] != "skip" and recorder["label"] != "Stateful tests":
            operations.add(recorder["label"])
        for case_id, results in recorder.get("checks", {}).items():
            cases.add(case_id)
            for check in results:
                checked[check["name"]] += 1
                failed[check["name"]] += check["status"] == "failure"
print(f"   {len(operations)} operations, {len(cases)} cases, {errors} errors")
for name in sorted(checked):
    print(f"   {name:30} {checked[name]:6} checked {failed[name]:4} failed")
sys.exit(1 if errors or sum(failed.values()) else 0)
PY
}

status=0
for who in member organizer judge; do
    refresh "$who"
    echo "== as $who"
    # One worker: hypothesis parses sources with `ast`, which Python 3.11 and 3.12.1 cannot
    # do from two threads at once (SystemError "AST constructor recursion depth mismatch").
    set +e
    # From the reports directory: schemathesis keeps its cache of past failures in
    # ./.schemathesis, which belongs there and not in the work tree.
    (cd "$reports" && "$venv/bin/schemathesis" --config-file "$config" \
        run "$base/api/openapi.json" \
        --header "Authorization: Bearer $token" \
        --max-examples "$max_examples" --seed "$seed" \
        --workers 1 --request-timeout 30 \
        --generation-database none --no-color \
        --report junit,ndjson --report-dir "$reports" \
        --report-junit-path "$reports/$who.xml" --report-ndjson-path "$reports/$who.ndjson" \
        "${extra[@]}" >"$reports/$who.log" 2>&1)
    code=$?
    set -e
    if [[ -f "$reports/$who.ndjson" ]]; then
        summary "$reports/$who.ndjson" || code=1
    else
        code=1
        tail -n 20 "$reports/$who.log"
    fi
    if ((code != 0)); then
        status=1
        echo "   failures: $reports/$who.log"
        # `|| true`: head closing the pipe early is no failure of the script.
        sed -n '/^=* \(ERRORS\|FAILURES\) =*$/,$p' "$reports/$who.log" | head -n 60 || true
    fi
done
if ((status != 0)); then
    hoithi_die "schemathesis found failures (reports in $reports; replay with HOITHI_SCHEMATHESIS_SEED=$seed)"
fi
echo "== no failures (reports in $reports)"
