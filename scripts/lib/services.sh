# shellcheck shell=bash
# Local services for hoithi development and tests.
#
# Source this file from bash (it is safe under `set -euo pipefail`) and call
# `hoithi_setup`. It installs what is missing (Debian/Ubuntu, apt-get), then
# starts a project-local PostgreSQL and Redis under <repo>/.local/ on free
# ports remembered between runs, and exports:
#
#   DATABASE_URL       postgres://postgres@127.0.0.1:PORT/hoithi
#   HOITHI_PG_PORT     that PORT
#   REDIS_URL          redis://127.0.0.1:PORT/
#   HOITHI_REDIS_PORT  that PORT
#   HOITHI_JWT_SECRET  random, kept in .local/jwt-secret (mode 600)
#
# A DATABASE_URL / REDIS_URL / HOITHI_JWT_SECRET already set in the
# environment is used as is, and the matching local service is not started.
# Everything is idempotent: a re-run reuses what is already running.
# `scripts/stop.sh` stops the local services.

if [[ -n "${_HOITHI_SERVICES_SH:-}" ]]; then
    return 0
fi
_HOITHI_SERVICES_SH=1

_HOITHI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
_HOITHI_APT_UPDATED=""
# Set to 1 when this shell started the service (not when it reused one).
HOITHI_PG_STARTED=0
HOITHI_REDIS_STARTED=0

hoithi_log() { printf 'hoithi: %s\n' "$*" >&2; }
hoithi_die() {
    printf 'hoithi: error: %s\n' "$*" >&2
    return 1
}

# Absolute path of the repository root.
hoithi_root() { printf '%s\n' "$_HOITHI_ROOT"; }

# Run a command as root (directly when already root, else through sudo).
_hoithi_as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        hoithi_die "need root to run '$*' (and sudo is not installed)"
    fi
}

_hoithi_apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        hoithi_die "apt-get not found: please install these packages yourself: $*" || return 1
    if [[ -z "$_HOITHI_APT_UPDATED" ]]; then
        hoithi_log "apt-get update"
        _hoithi_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
        _HOITHI_APT_UPDATED=1
    fi
    hoithi_log "apt-get install $*"
    _hoithi_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" || return 1
}

# Newest Debian PostgreSQL server bin dir (/usr/lib/postgresql/<ver>/bin) that
# has initdb, pg_ctl and postgres. Prints nothing when there is none.
_hoithi_pg_bindir() {
    local d best=""
    while IFS= read -r d; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
            best="$d"
        fi
    done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V)
    if [[ -z "$best" ]]; then
        # Not Debian's layout (or a wrapper on PATH): accept it if complete.
        local p
        p="$(command -v pg_ctl 2>/dev/null || true)"
        if [[ -n "$p" ]]; then
            p="$(dirname "$(readlink -f "$p")")"
            if [[ -x "$p/initdb" && -x "$p/postgres" ]]; then
                best="$p"
            fi
        fi
    fi
    [[ -n "$best" ]] && printf '%s\n' "$best"
    return 0
}

_hoithi_find_cargo() {
    if ! command -v cargo >/dev/null 2>&1 && [[ -x "${HOME:-/nonexistent}/.cargo/bin/cargo" ]]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null 2>&1
}

# Install what is missing: PostgreSQL server (only when DATABASE_URL is not
# given), redis-server (only when REDIS_URL is not given), psql, a C toolchain
# and pkg-config. Fails with instructions when Rust is not installed.
hoithi_ensure_packages() {
    local pkgs=()
    if [[ -z "${DATABASE_URL:-}" && -z "$(_hoithi_pg_bindir)" ]]; then
        pkgs+=(postgresql)
    fi
    if [[ -z "${REDIS_URL:-}" ]] && ! { command -v redis-server && command -v redis-cli; } >/dev/null 2>&1; then
        pkgs+=(redis-server)
    fi
    command -v psql >/dev/null 2>&1 || pkgs+=(postgresql-client)
    if ! { command -v cc && command -v make; } >/dev/null 2>&1; then
        pkgs+=(build-essential)
    fi
    command -v pkg-config >/dev/null 2>&1 || pkgs+=(pkg-config)
    # Tools this file itself uses, normally always present.
    command -v runuser >/dev/null 2>&1 || pkgs+=(util-linux)
    command -v ss >/dev/null 2>&1 || pkgs+=(iproute2)
    command -v sha256sum >/dev/null 2>&1 || pkgs+=(coreutils)
    if ((${#pkgs[@]})); then
        _hoithi_apt_install "${pkgs[@]}" || return 1
    fi
    if ! _hoithi_find_cargo; then
        hoithi_die "cargo (Rust) not found. Install Rust with rustup as the user that builds hoithi:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    . \"\$HOME/.cargo/env\"
then re-run this script." || return 1
    fi
}

# True when nothing listens on 127.0.0.1/any address at TCP port $1.
_hoithi_port_free() {
    local port="$1"
    if command -v ss >/dev/null 2>&1; then
        ! ss -ltnH 2>/dev/null | awk -v p=":$port" '{ if (substr($4, length($4) - length(p) + 1) == p) found = 1 } END { exit !found }'
    else
        ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

# Short stable hash of the repo path (different checkouts -> different values).
_hoithi_path_hash() { printf '%s' "$_HOITHI_ROOT" | sha256sum | cut -c1-10; }

# Pick a free port: start at $1 + (hash of the repo path mod 100), so two
# checkouts rarely even try the same port, then go upwards.
_hoithi_pick_port() {
    local base="$1" i port off
    off=$((16#$(_hoithi_path_hash | cut -c1-4) % 100))
    for ((i = 0; i < 300; i++)); do
        port=$((base + (off + i) % 300))
        if _hoithi_port_free "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    hoithi_die "no free TCP port found in $base..$((base + 299))"
}

# ---------------------------------------------------------------- PostgreSQL

# Run a PostgreSQL tool as the cluster's owner (sets _HOITHI_PG_USER first).
_hoithi_pg_run() {
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u "$_HOITHI_PG_USER" -- "$@")
    else
        (cd / && "$@")
    fi
}

# Decide which user runs PostgreSQL and where its directory lives; sets
# _HOITHI_PG_USER and _HOITHI_PG_DIR (a real path, no symlink).
_hoithi_pg_prepare_dir() {
    local root="$_HOITHI_ROOT" link="$_HOITHI_ROOT/.local/pg" user
    mkdir -p "$root/.local" || return 1
    if [[ $EUID -ne 0 ]]; then
        _HOITHI_PG_USER="$(id -un)"
        if [[ -L "$link" ]]; then
            mkdir -p "$(readlink "$link")" || return 1
        else
            mkdir -p "$link" || return 1
        fi
        _HOITHI_PG_DIR="$(readlink -f "$link")"
        chmod 700 "$_HOITHI_PG_DIR" || return 1
        return 0
    fi
    # Root: initdb refuses to run as root, use an unprivileged user. An
    # existing cluster keeps its owner.
    if [[ -e "$link/data/PG_VERSION" ]]; then
        user="$(stat -c %U "$(readlink -f "$link/data")")"
    elif getent passwd postgres >/dev/null 2>&1; then
        user=postgres
    else
        if ! getent passwd hoithi >/dev/null 2>&1; then
            hoithi_log "creating system user 'hoithi' to run PostgreSQL"
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin hoithi || return 1
        fi
        user=hoithi
    fi
    _HOITHI_PG_USER="$user"
    if [[ ! -L "$link" && ! -d "$link" ]]; then
        chmod go+x "$root/.local" 2>/dev/null || true
        if runuser -u "$user" -- test -x "$root/.local"; then
            mkdir -p "$link" || return 1
        else
            # A parent of the repo is closed to $user (say the repo is under
            # /root): keep the cluster under /var/tmp and link to it.
            local alt
            alt="/var/tmp/hoithi-$(_hoithi_path_hash)"
            hoithi_log "$root is not reachable by user $user; PostgreSQL lives in $alt/pg"
            mkdir -p "$alt/pg" || return 1
            chmod 755 "$alt" || return 1
            ln -sfn "$alt/pg" "$link" || return 1
        fi
    fi
    if [[ -L "$link" ]]; then
        mkdir -p "$(readlink "$link")" || return 1
    fi
    _HOITHI_PG_DIR="$(readlink -f "$link")"
    chown "$user:" "$_HOITHI_PG_DIR" || return 1
    chmod 700 "$_HOITHI_PG_DIR" || return 1
    if ! runuser -u "$user" -- test -w "$_HOITHI_PG_DIR"; then
        hoithi_die "user $user cannot write $_HOITHI_PG_DIR; remove $link and re-run"
    fi
}

# Unix socket directory: inside .local/pg unless that path is too long for a
# socket (about 107 bytes), then a short private directory under /var/tmp.
_hoithi_pg_socket_dir() {
    local port="$1" dir="$_HOITHI_PG_DIR"
    if (($(printf '%s/.s.PGSQL.%s' "$dir" "$port" | wc -c) > 100)); then
        dir="/var/tmp/hoithi-$(_hoithi_path_hash)-sock"
        mkdir -p "$dir" || return 1
        if [[ $EUID -eq 0 ]]; then chown "$_HOITHI_PG_USER:" "$dir" || return 1; fi
        chmod 700 "$dir" || return 1
    fi
    printf '%s\n' "$dir"
}

_hoithi_pg_initdb() {
    local bindir="$1" data="$_HOITHI_PG_DIR/data" locale=C.UTF-8
    if [[ -e "$data/PG_VERSION" ]]; then
        return 0
    fi
    if [[ -d "$data" ]]; then
        hoithi_log "removing incomplete PostgreSQL data dir $data"
        rm -rf "$data" || return 1
    fi
    if command -v locale >/dev/null 2>&1 && ! locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
        locale=C
    fi
    hoithi_log "initdb $data (user $_HOITHI_PG_USER, locale $locale)"
    if ! _hoithi_pg_run "$bindir/initdb" -D "$data" --auth=trust -U postgres \
        --encoding=UTF8 --locale="$locale" >"$_HOITHI_PG_DIR/initdb.log" 2>&1; then
        if [[ "$locale" != C ]]; then
            hoithi_log "initdb with locale $locale failed, retrying with locale C"
            rm -rf "$data"
            _hoithi_pg_run "$bindir/initdb" -D "$data" --auth=trust -U postgres \
                --encoding=UTF8 --locale=C >"$_HOITHI_PG_DIR/initdb.log" 2>&1 || {
                cat "$_HOITHI_PG_DIR/initdb.log" >&2
                hoithi_die "initdb failed (log: $_HOITHI_PG_DIR/initdb.log)"
                return 1
            }
        else
            cat "$_HOITHI_PG_DIR/initdb.log" >&2
            hoithi_die "initdb failed (log: $_HOITHI_PG_DIR/initdb.log)"
            return 1
        fi
    fi
    printf "\n# hoithi: local settings, rewritten at each start\ninclude_if_exists = 'hoithi.conf'\n" |
        _hoithi_pg_run tee -a "$data/postgresql.conf" >/dev/null || return 1
}

# Start (or reuse) the project-local PostgreSQL; export DATABASE_URL and
# HOITHI_PG_PORT. With DATABASE_URL already set, only export HOITHI_PG_PORT.
hoithi_start_postgres() {
    if [[ -n "${DATABASE_URL:-}" ]]; then
        local hostport="${DATABASE_URL#*://}"
        hostport="${hostport%%/*}"
        hostport="${hostport##*@}"
        if [[ "$hostport" =~ :([0-9]+)$ ]]; then
            export HOITHI_PG_PORT="${BASH_REMATCH[1]}"
        else
            export HOITHI_PG_PORT=5432
        fi
        return 0
    fi
    local bindir data port="" portfile sockdir
    bindir="$(_hoithi_pg_bindir)"
    [[ -n "$bindir" ]] || hoithi_die "PostgreSQL server not found (run hoithi_ensure_packages)" || return 1
    _hoithi_pg_prepare_dir || return 1
    data="$_HOITHI_PG_DIR/data"
    portfile="$_HOITHI_PG_DIR/port"
    _hoithi_pg_initdb "$bindir" || return 1

    if _hoithi_pg_run "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        # Already running: its port is line 4 of postmaster.pid.
        port="$(sed -n 4p "$data/postmaster.pid" 2>/dev/null || true)"
        if [[ "$port" =~ ^[0-9]+$ ]]; then
            hoithi_log "reusing running PostgreSQL on 127.0.0.1:$port"
            printf '%s\n' "$port" >"$portfile" || return 1
        else
            hoithi_die "PostgreSQL in $data is running but its port is unknown; run scripts/stop.sh" || return 1
        fi
    else
        if [[ -f "$portfile" ]]; then
            port="$(tr -dc 0-9 <"$portfile")"
        fi
        if [[ -z "$port" ]] || ! _hoithi_port_free "$port"; then
            [[ -n "$port" ]] && hoithi_log "port $port is taken, choosing another for PostgreSQL"
            port="$(_hoithi_pick_port 54320)" || return 1
        fi
        printf '%s\n' "$port" >"$portfile" || return 1
        sockdir="$(_hoithi_pg_socket_dir "$port")" || return 1
        _hoithi_pg_run tee "$data/hoithi.conf" >/dev/null <<EOF || return 1
# Written by scripts/lib/services.sh at each start; edits are lost.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
# Enough for a load test's 200 clients (pgbench's) beside the server's own pool.
max_connections = 300
shared_buffers = 256MB
EOF
        hoithi_log "starting PostgreSQL on 127.0.0.1:$port (data $data)"
        if ! _hoithi_pg_run "$bindir/pg_ctl" -D "$data" -l "$_HOITHI_PG_DIR/postgres.log" \
            -w -t 60 start >/dev/null; then
            tail -n 30 "$_HOITHI_PG_DIR/postgres.log" >&2 || true
            hoithi_die "PostgreSQL failed to start (log: $_HOITHI_PG_DIR/postgres.log)"
            return 1
        fi
        # shellcheck disable=SC2034 # read by callers (test.sh)
        HOITHI_PG_STARTED=1
    fi
    export HOITHI_PG_PORT="$port"

    local base="postgres://postgres@127.0.0.1:$port" i
    for ((i = 0; i < 30; i++)); do
        psql -X -w -q "$base/postgres" -c 'select 1' >/dev/null 2>&1 && break
        sleep 1
    done
    if [[ "$(psql -X -w -tA "$base/postgres" -c "select 1 from pg_database where datname = 'hoithi'")" != 1 ]]; then
        hoithi_log "creating database hoithi"
        psql -X -w -q "$base/postgres" -c 'create database hoithi' >/dev/null || return 1
    fi
    export DATABASE_URL="$base/hoithi"
}

# --------------------------------------------------------------------- Redis

# Is a Redis answering on $1 and running from our directory $2?
_hoithi_redis_is_ours() {
    local out
    [[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]] || return 1
    out="$(timeout 3 redis-cli -h 127.0.0.1 -p "$1" config get dir 2>/dev/null | sed -n 2p)"
    [[ "$out" == "$2" ]]
}

# Start (or reuse) the project-local Redis; export REDIS_URL and
# HOITHI_REDIS_PORT.
hoithi_start_redis() {
    if [[ -n "${REDIS_URL:-}" ]]; then
        return 0
    fi
    local dir port="" pid i
    mkdir -p "$_HOITHI_ROOT/.local/redis" || return 1
    dir="$(readlink -f "$_HOITHI_ROOT/.local/redis")"
    if [[ -f "$dir/port" ]]; then
        port="$(tr -dc 0-9 <"$dir/port")"
    fi
    if [[ -n "$port" ]] && _hoithi_redis_is_ours "$port" "$dir"; then
        hoithi_log "reusing running Redis on 127.0.0.1:$port"
    else
        # A leftover redis of ours that does not answer where expected: stop it.
        pid="$(cat "$dir/redis.pid" 2>/dev/null || true)"
        if [[ "$pid" =~ ^[0-9]+$ ]] && grep -qa redis-server "/proc/$pid/cmdline" 2>/dev/null; then
            hoithi_log "stopping stale Redis (pid $pid)"
            kill "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.2
            done
        fi
        if [[ -z "$port" ]] || ! _hoithi_port_free "$port"; then
            [[ -n "$port" ]] && hoithi_log "port $port is taken, choosing another for Redis"
            port="$(_hoithi_pick_port 63790)" || return 1
        fi
        printf '%s\n' "$port" >"$dir/port" || return 1
        hoithi_log "starting Redis on 127.0.0.1:$port (dir $dir)"
        redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir" \
            --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
            --save "" --appendonly no --protected-mode yes >/dev/null || {
            hoithi_die "redis-server failed to start (log: $dir/redis.log)"
            return 1
        }
        for ((i = 0; i < 100; i++)); do
            [[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]] && break
            sleep 0.1
        done
        if ! _hoithi_redis_is_ours "$port" "$dir"; then
            tail -n 20 "$dir/redis.log" >&2 || true
            hoithi_die "Redis did not answer on port $port (log: $dir/redis.log)"
            return 1
        fi
        # shellcheck disable=SC2034 # read by callers (test.sh)
        HOITHI_REDIS_STARTED=1
    fi
    export HOITHI_REDIS_PORT="$port"
    export REDIS_URL="redis://127.0.0.1:$port/"
}

# ------------------------------------------------------------------- secrets

# Export HOITHI_JWT_SECRET, generated once into .local/jwt-secret.
hoithi_jwt_secret() {
    if [[ -n "${HOITHI_JWT_SECRET:-}" ]]; then
        return 0
    fi
    local f="$_HOITHI_ROOT/.local/jwt-secret"
    mkdir -p "$_HOITHI_ROOT/.local" || return 1
    if [[ ! -s "$f" ]]; then
        (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$f") || return 1
    fi
    chmod 600 "$f" || return 1
    HOITHI_JWT_SECRET="$(cat "$f")" || return 1
    export HOITHI_JWT_SECRET
}

# ---------------------------------------------------------------------- all

_hoithi_redact_url() { printf '%s' "$1" | sed -E 's#(://[^:/@]+):[^@/]*@#\1:***@#'; }

hoithi_setup() {
    hoithi_ensure_packages || return 1
    hoithi_start_postgres || return 1
    hoithi_start_redis || return 1
    hoithi_jwt_secret || return 1
    hoithi_log "ready: DATABASE_URL=$(_hoithi_redact_url "$DATABASE_URL") REDIS_URL=$(_hoithi_redact_url "$REDIS_URL") HOITHI_JWT_SECRET=<set>"
}

# Stop the project-local PostgreSQL and Redis if they run (idempotent).
hoithi_stop() {
    local link="$_HOITHI_ROOT/.local/pg" data bindir dir pid i
    if [[ -e "$link/data/postmaster.pid" ]]; then
        data="$(readlink -f "$link/data")"
        bindir="$(_hoithi_pg_bindir)"
        if [[ $EUID -eq 0 ]]; then
            _HOITHI_PG_USER="$(stat -c %U "$data")"
        else
            _HOITHI_PG_USER="$(id -un)"
        fi
        if [[ -n "$bindir" ]] && _hoithi_pg_run "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
            hoithi_log "stopping PostgreSQL ($data)"
            _hoithi_pg_run "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || return 1
        fi
    fi
    dir="$_HOITHI_ROOT/.local/redis"
    pid="$(cat "$dir/redis.pid" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && grep -qa redis-server "/proc/$pid/cmdline" 2>/dev/null; then
        hoithi_log "stopping Redis (pid $pid)"
        kill "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            hoithi_die "Redis (pid $pid) did not stop"
            return 1
        fi
    fi
    return 0
}

# Loads every contest folder under contests/ (those holding contest.toml or
# contest.json) with the given hoithi binary. Idempotent: a second run changes
# nothing.
hoithi_load_contests() {
    local bin="$1" dir
    shopt -s nullglob
    for dir in "$(hoithi_root)"/contests/*/; do
        if [[ -f "$dir/contest.toml" || -f "$dir/contest.json" ]]; then
            hoithi_log "importing contest ${dir%/}"
            "$bin" contest import "${dir%/}"
        fi
    done
    shopt -u nullglob
}

# Benchmarks: the release binary (`$bin`; the debug one when $2 is `dev`) over a database
# of their own named $1, created afresh and migrated; DATABASE_URL is exported pointing at
# it. `hoithi_bench_drop` drops it.
hoithi_bench_db() {
    local profile="${2:-release}"
    if [[ "$profile" == dev ]]; then
        # The same build as scripts/test.sh's: with other flags cargo unifies features
        # differently and rebuilds half the dependency tree.
        SQLX_OFFLINE=true cargo build --workspace --locked --all-targets
        bin="${CARGO_TARGET_DIR:-$_HOITHI_ROOT/target}/debug/hoithi"
    else
        SQLX_OFFLINE=true cargo build --release --locked --bin hoithi
        bin="${CARGO_TARGET_DIR:-$_HOITHI_ROOT/target}/release/hoithi"
    fi
    bench_db="$1"
    bench_admin_url="${DATABASE_URL%/*}/postgres"
    psql -q "$bench_admin_url" -c "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)" -c "CREATE DATABASE $bench_db"
    export DATABASE_URL="${DATABASE_URL%/*}/$bench_db"
    "$bin" migrate >/dev/null
}

hoithi_bench_drop() {
    psql -q "$bench_admin_url" -c "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)"
}
