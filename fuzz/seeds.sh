#!/usr/bin/env bash
# Builds fuzz/seeds/<target>/ (not committed): the synthetic seeds and
# hostile files of `make_seeds`, plus the real samples of
# ../shared/data (docs/fuzzing.md). Run from anywhere; uses CARGO_TARGET_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${CARINA_SHARED:-$root/../shared}
seeds=$root/fuzz/seeds
rm -rf "$seeds"
cargo run -q -p carina-fuzz --example make_seeds --manifest-path "$root/Cargo.toml" -- \
  "$seeds" "$root"/fuzz/seeds-src/*.j2k
s=$shared/data/samples
if [ -d "$s" ]; then
  cp "$s"/dicom/siim_*.dcm "$s"/dicom/RG1_UNCR.dcm "$seeds/dicom/"
  cp "$s"/dicom/RG1_J2K*.dcm "$seeds/j2k/"
  cp "$s"/png/*.png "$seeds/png/"
  cp "$s"/jpeg/*.jpeg "$seeds/jpeg/"
  cp "$shared"/data/nih/BBox_List_2017.csv "$seeds/import_nih/full.csv"
fi
# The hostile files seed the targets they attack.
cp "$seeds"/hostile/*.dcm "$seeds/dicom/"
cp "$seeds"/hostile/*.png "$seeds/png/"
du -sh "$seeds"/*
