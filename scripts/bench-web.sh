#!/usr/bin/env bash
# The web app's weight and a Lighthouse mobile report: a release server with the demo
# contest in a database of its own; the first load's bytes on the wire (gzip), then
# Lighthouse (from the npm registry, into load-tests/.lighthouse/) against Debian's
# Chromium, with its default mobile settings (slow 4G, 4× CPU slowdown).
# Usage: scripts/bench-web.sh
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
root="$(hoithi_root)"
cd "$root"

hoithi_setup
export HOITHI_JWT_SECRET
command -v chromium >/dev/null 2>&1 || _hoithi_apt_install chromium fonts-dejavu-core
command -v npm >/dev/null 2>&1 || _hoithi_apt_install npm
hoithi_bench_db hoithi_bench_web
"$bin" contest import contests/cuoc-thi-demo >/dev/null

port=$((20000 + RANDOM % 20000))
prefix="hoithi_bench:$$:"
HOITHI_LISTEN="127.0.0.1:$port" HOITHI_REDIS_PREFIX="$prefix" RUST_LOG=warn "$bin" serve &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; hoithi_bench_drop' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
base="http://127.0.0.1:$port"

echo "== first load, gzip on the wire"
total=0
for path in / $(curl -fs "$base/" | grep -o '/assets/[^"]*'); do
    bytes="$(curl -fs -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$base$path")"
    printf '%-32s %7d bytes\n' "$path" "$bytes"
    total=$((total + bytes))
done
printf '%-32s %7d bytes (%d KiB)\n' "total" "$total" $((total / 1024))

echo "== Lighthouse, mobile"
lh="$root/load-tests/.lighthouse"
mkdir -p "$lh"
[ -x "$lh/node_modules/.bin/lighthouse" ] || npm install --prefix "$lh" --no-fund --no-audit lighthouse@12 >/dev/null
CHROME_PATH=/usr/bin/chromium "$lh/node_modules/.bin/lighthouse" "$base/" --quiet --form-factor=mobile \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync" \
    --output=json --output-path="$lh/report.json"
python3 - "$lh/report.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
print("scores:", ", ".join(f"{k} {round(v['score'] * 100)}" for k, v in report["categories"].items()))
for key in ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
            "cumulative-layout-shift", "speed-index", "total-byte-weight"]:
    print(f"{key}: {report['audits'][key]['displayValue']}")
EOF
echo "full report: $lh/report.json"
