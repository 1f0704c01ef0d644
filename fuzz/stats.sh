#!/usr/bin/env bash
# Prints one Markdown table row per fuzzing log in fuzz/logs (docs/fuzzing.md):
# target, seconds, executions, exec/s, final cov/ft, corpus entries, peak RSS, outcome.
cd "$(dirname "$0")"
for log in "${@:-logs/*.log}"; do
  t=$(basename "$log" .log)
  last=$(grep -E "^#[0-9]+.*cov: " "$log" | tail -1)
  cov=$(sed -nE 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+)\/([^ ]+).*/\1 \2 \3 \4/p' <<< "$last")
  runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1 \2/p' "$log")
  eps=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log")
  rss=$(sed -nE 's/^stat::peak_rss_mb: *([0-9]+)/\1/p' "$log")
  crash=$(grep -m1 -E "^==[0-9]+== ERROR|^SUMMARY|deadly signal|panicked at" "$log" | cut -c1-80)
  echo "| $t | ${runs#* } | ${runs% *} | $eps | $cov | $rss | ${crash:-none} |"
done
