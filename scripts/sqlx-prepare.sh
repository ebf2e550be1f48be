#!/usr/bin/env bash
# Refresh the sqlx offline query data in .sqlx/ (commit the result).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
root="$(hoithi_root)"
cd "$root"

hoithi_setup
if ! cargo sqlx --version >/dev/null 2>&1; then
    hoithi_log "installing sqlx-cli"
    cargo install sqlx-cli --version '~0.8.6' --no-default-features \
        --features postgres,rustls --locked
fi

# The schema must be in the database before the query macros can be checked
# online. Use the app's own migrate command when it builds offline; when the
# offline data is too stale for that, apply migrations/ with sqlx-cli.
if SQLX_OFFLINE=true cargo build --locked --bin hoithi; then
    "${CARGO_TARGET_DIR:-$root/target}/debug/hoithi" migrate
else
    hoithi_log "offline build failed (stale .sqlx?); applying migrations with sqlx-cli"
    cargo sqlx migrate run --source "$root/migrations"
fi

env -u SQLX_OFFLINE cargo sqlx prepare -- --all-targets
hoithi_log ".sqlx refreshed; review and commit it"
