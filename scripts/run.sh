#!/usr/bin/env bash
# Build and run hoithi locally: local PostgreSQL + Redis, release build,
# migrations, contest import (when supported), then the server.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
root="$(hoithi_root)"
cd "$root"

hoithi_setup
export HOITHI_LISTEN="${HOITHI_LISTEN:-127.0.0.1:8080}"
export RUST_LOG="${RUST_LOG:-info}"

SQLX_OFFLINE=true cargo build --release --locked
bin="${CARGO_TARGET_DIR:-$root/target}/release/hoithi"

"$bin" migrate

hoithi_load_contests "$bin"

cat >&2 <<MSG
hoithi: serving on http://$HOITHI_LISTEN/
hoithi:   the app   http://$HOITHI_LISTEN/ (members; staff pages at #/quan-ly)
hoithi:   API docs  http://$HOITHI_LISTEN/docs
hoithi:   readiness http://$HOITHI_LISTEN/readyz
hoithi: (scripts/stop.sh stops the local PostgreSQL and Redis)
MSG
exec "$bin" serve
