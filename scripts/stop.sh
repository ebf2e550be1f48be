#!/usr/bin/env bash
# Stop the project-local PostgreSQL and Redis started by scripts/lib/services.sh
# (if they run). Safe to run any number of times.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
hoithi_stop
hoithi_log "local services stopped"
