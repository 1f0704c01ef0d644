#!/usr/bin/env bash
# Runs one fuzz target for a while (docs/fuzzing.md).
#
#   fuzz/run.sh TARGET SECONDS [extra libFuzzer flags...]
#
# Corpus: fuzz/corpus/TARGET (grows; not committed), seeded from
# fuzz/seeds/TARGET (fuzz/seeds.sh) and crates/carina-fuzz/corpus/TARGET
# (the committed regression corpus). Crashes land in fuzz/artifacts/TARGET,
# the log in fuzz/logs/TARGET-<date>.log. Memory blow-ups count as crashes
# (-rss_limit_mb / -malloc_limit_mb), so do slow inputs (-timeout).
set -euo pipefail
target=$1
secs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target}
case $target in
  dicom | j2k) max_len=262144 ;;
  png | jpeg) max_len=300000 ;;
  *) max_len=65536 ;;
esac
mkdir -p "corpus/$target" "artifacts/$target" logs
seeds=()
for d in "seeds/$target" "../crates/carina-fuzz/corpus/$target"; do
  [ -d "$d" ] && seeds+=("$d")
done
log="logs/$target-$(date -u +%Y%m%dT%H%M%S).log"
echo "log: fuzz/$log"
# nice: fuzzing yields the CPU to builds.
nice -n 19 cargo fuzz run --sanitizer none "$target" "corpus/$target" "${seeds[@]}" -- \
  -rss_limit_mb=1024 -malloc_limit_mb=1024 -timeout=10 -max_len=$max_len \
  -max_total_time="$secs" -print_final_stats=1 \
  -artifact_prefix="artifacts/$target/" "$@" 2>&1 | tee "$log" | grep -E "DONE|pulse|NEW_FUNC|ERROR|SUMMARY|stat::|crash|Test unit" | tail -40
