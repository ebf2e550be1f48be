#!/usr/bin/env bash
# Time to import a bank of N questions (default 10,000) with the release binary, against
# its own database: a CSV through `hoithi questions import`, then the same bank as a
# contest folder through `hoithi contest import` (first load, then the no-change re-run).
# Usage: scripts/bench-import.sh [questions]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
root="$(hoithi_root)"
cd "$root"
count="${1:-10000}"

hoithi_setup
hoithi_bench_db hoithi_bench_import
work="$(mktemp -d)"
trap 'rm -rf "$work"; hoithi_bench_drop' EXIT

# A realistic bank: Vietnamese text, four options, a tenth multiple-answer, explanations.
mkdir -p "$work/folder/questions"
awk -v n="$count" 'BEGIN {
    print "Câu hỏi,Đáp án A,Đáp án B,Đáp án C,Đáp án D,Đáp án đúng,Chủ đề,Độ khó,Giải thích"
    split("Kỹ năng số|An toàn trên mạng|Luật giao thông|Lịch sử Hội", cat, "|")
    split("dễ|trung bình|khó", lvl, "|")
    for (i = 1; i <= n; i++) {
        correct = (i % 10 == 0) ? "A,C" : substr("ABCD", i % 4 + 1, 1)
        printf "\"Câu hỏi số %d: theo quy định hiện hành, phương án nào sau đây là đúng?\",Phương án thứ nhất %d,Phương án thứ hai %d,Phương án thứ ba %d,Phương án thứ tư %d,\"%s\",%s,%s,\"Giải thích cho câu %d, đủ dài để giống một lời giải thích thật.\"\n",
            i, i, i, i, i, correct, cat[i % 4 + 1], lvl[i % 3 + 1], i
    }
}' > "$work/folder/questions/bank.csv"
cat > "$work/folder/contest.toml" <<TOML
slug = "bench-folder"
title = "Đo tốc độ nhập"
TOML
cat > "$work/contest.toml" <<TOML
slug = "bench-file"
title = "Đo tốc độ nhập"
questions = []
TOML
mkdir -p "$work/empty" && cp "$work/contest.toml" "$work/empty/"
"$bin" contest import "$work/empty" >/dev/null

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'; }
printf 'questions import (%s questions, CSV):      %ss\n' "$count" "$(seconds "$bin" questions import --contest bench-file "$work/folder/questions/bank.csv")"
printf 'contest import (%s questions, first load): %ss\n' "$count" "$(seconds "$bin" contest import "$work/folder")"
printf 'contest import (%s questions, no change):  %ss\n' "$count" "$(seconds "$bin" contest import "$work/folder")"
psql -Atq "$DATABASE_URL" -c "SELECT 'stored: ' || count(*) || ' questions, ' || (SELECT count(*) FROM question_options) || ' options' FROM questions"
