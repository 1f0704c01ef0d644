#!/usr/bin/env bash
# Prints one Markdown table row per fuzzing log (default: fuzz/logs/*.log) for
# docs/fuzzing.md: log, seconds, executions, exec/s, final cov and ft,
# corpus entries, and crashes (fork mode: oom/timeout/crash counts; else the
# first error line). Handles plain and -fork=1 logs.
cd "$(dirname "$0")"
[ $# -eq 0 ] && set -- logs/*.log
for log in "$@"; do
  t=$(basename "$log" .log)
  last=$(grep -E "^#[0-9]+:?[[:space:]].*cov: " "$log" | tail -1)
  runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<< "$last")
  cov=$(sed -nE 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 | \2 | \3/p' <<< "$last")
  secs=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p; s/^INFO: exiting: [0-9]+ time: ([0-9]+)s.*/\1/p' "$log" | tail -1)
  [ -z "$secs" ] && secs=$(sed -nE 's/.* time: ([0-9]+)s job.*/\1/p' <<< "$last")
  fork=$(sed -nE 's/.*oom\/timeout\/crash: ([0-9]+\/[0-9]+\/[0-9]+).*/\1/p' <<< "$last")
  crash=$(grep -m1 -E "^==[0-9]+== ERROR|panicked at" "$log" | cut -c1-70)
  if [ -n "$fork" ]; then outcome="oom/timeout/crash $fork"; else outcome=${crash:-none}; fi
  echo "| $t | $secs | $runs | $((runs / (secs > 0 ? secs : 1))) | $cov | $outcome |"
done
