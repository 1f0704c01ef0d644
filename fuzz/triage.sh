#!/usr/bin/env bash
# triage.sh TARGET [FILES...]: runs each crash artifact once and prints its
# file, size and the first line that says why it failed (docs/fuzzing.md).
cd "$(dirname "$0")"
t=$1; shift
B=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release
files=("$@"); [ ${#files[@]} -eq 0 ] && files=(artifacts/$t/*)
for f in "${files[@]}"; do
  out=$(timeout 60 "$B/$t" -rss_limit_mb=1024 -timeout=10 "$f" 2>&1); rc=$?
  why=$(grep -m1 -E "panicked at|overflowed|memory allocation|out-of-memory|ERROR: libFuzzer: timeout|deadly signal" <<< "$out")
  msg=$(grep -m1 -A1 -E "panicked at" <<< "$out" | tail -1)
  [ -z "$why" ] && why="rc=$rc (signal $((rc - 128)))"
  echo "$(basename "$f") $(stat -c %s "$f")B | ${why:0:90} | ${msg:0:160}"
done
