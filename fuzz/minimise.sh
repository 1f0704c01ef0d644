#!/usr/bin/env bash
# minimise.sh TARGET N: the regression corpus of TARGET from fuzz/corpus/TARGET
# (docs/fuzzing.md): an edge-only merge (smallest inputs first), the N inputs
# that added the most edges, plus the seeds; prints the edges the full corpus
# and the pick reach. Writes crates/carina-fuzz/corpus/TARGET/min-*.
set -euo pipefail
cd "$(dirname "$0")"
t=$1; n=$2
B=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release
flags=(-use_counters=0 -use_cmp=0 -use_value_profile=0 -rss_limit_mb=1024 -timeout=10)
w=$(mktemp -d)
mkdir "$w/all" "$w/pick" "$w/check"
nice -n 19 "$B/$t" -merge=1 "${flags[@]}" -merge_control_file="$w/ctl" "$w/all" "corpus/$t" > "$w/log1" 2>&1
python3 pick.py "$w/ctl" "$n" "$w/pick"
dest=../crates/carina-fuzz/corpus/$t
rm -f "$dest"/min-*
for f in "$w"/pick/*; do cp "$f" "$dest/min-$(basename "$f" | cut -c1-16)"; done
nice -n 19 "$B/$t" -merge=1 "${flags[@]}" "$w/check" "$dest" > "$w/log2" 2>&1
echo "$t: full corpus $(ls "corpus/$t" | wc -l) files, $(grep -oE '[0-9]+ new coverage edges' "$w/log1");" \
  "committed $(ls "$dest" | wc -l) files ($(du -cb "$dest"/* | tail -1 | cut -f1) bytes), $(grep -oE '[0-9]+ new coverage edges' "$w/log2")"
rm -rf "$w"
