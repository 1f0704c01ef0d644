#!/usr/bin/env python3
"""Per-finding box statistics of the NIH ChestX-ray14 box list.

Prints the Rust table committed as `src/stats_nih.rs`. Run from the crate dir:
    python3 scripts/nih_box_stats.py ../../../shared/data/nih/BBox_List_2017.csv
The crate's test `nih_stats_match_box_list` recomputes the same numbers in Rust
from the CSV, so the committed table cannot drift from the data.

Each box (x, y, w, h in 1024 px) becomes (|cx - 0.5|, cy, w, h) normalised by
1024, plus whether the centre lies on the image right (cx > 0.5). We keep the
11 deciles (0, 10, ..., 100 %) of each, linearly interpolated (numpy's default).
"""
import csv
import sys

NIH_TO_CARINA = {
    "Atelectasis": "Atelectasis",
    "Cardiomegaly": "Cardiomegaly",
    "Infiltrate": "Infiltration",
    "Infiltration": "Infiltration",
    "Nodule": "NoduleMass",
    "Mass": "NoduleMass",
    "Pneumothorax": "Pneumothorax",
    "Effusion": "PleuralEffusion",
}


def quantile(sorted_vals, q):
    pos = q * (len(sorted_vals) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_vals) - 1)
    frac = pos - lo
    return sorted_vals[lo] * (1 - frac) + sorted_vals[hi] * frac


def main(path):
    rows = {}
    with open(path, newline="") as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            f_ = NIH_TO_CARINA.get(row[1].strip())
            if f_ is None:
                continue
            x, y, w, h = (float(v) / 1024.0 for v in row[2:6])
            cx, cy = x + w / 2, y + h / 2
            rows.setdefault(f_, []).append((abs(cx - 0.5), cy, w, h, cx > 0.5))
    for name in sorted(rows):
        boxes = rows[name]
        right = sum(1 for b in boxes if b[4]) / len(boxes)
        cols = []
        for i in range(4):
            vals = sorted(b[i] for b in boxes)
            cols.append([round(quantile(vals, k / 10), 4) for k in range(11)])
        fmt = lambda c: "[" + ", ".join(f"{v:.4}" for v in c) + "]"
        print(f"    // {name}: {len(boxes)} boxes")
        print(f"    BoxStats {{ n: {len(boxes)}, p_image_right: {right:.4}, "
              f"dx: {fmt(cols[0])}, cy: {fmt(cols[1])}, w: {fmt(cols[2])}, h: {fmt(cols[3])} }},")


if __name__ == "__main__":
    main(sys.argv[1])
