#!/usr/bin/env python3
"""Turns `carina predict --dir IMAGES --json` lines into a COCO results file
for `carina eval coco`, matching files to the image ids of a COCO instances
file (its `file_name`s). Boxes are [x0, y0, x1, y1] in image pixels in,
[x, y, w, h] out; class ids are the model's, which are the dataset's
category ids for a model trained on that dataset's label set.

Usage: predictions_to_coco.py GT.json PREDICTIONS.jsonl OUT.json
"""
import json
import sys

gt_path, pred_path, out_path = sys.argv[1:4]
gt = json.load(open(gt_path))
ids = {img["file_name"]: img["id"] for img in gt["images"]}
results, seen = [], set()
for line in open(pred_path):
    line = line.strip()
    if not line:
        continue
    row = json.loads(line)
    if "error" in row:
        sys.exit(f"{row['file']}: {row['error']}")
    name = row["file"].split("/")[-1]
    if name not in ids:
        continue
    seen.add(name)
    for d in row["detections"]:
        x0, y0, x1, y1 = d["bbox"]
        results.append({
            "image_id": ids[name],
            "category_id": d["class_id"],
            "bbox": [x0, y0, x1 - x0, y1 - y0],
            "score": d["score"],
        })
missing = set(ids) - seen
if missing:
    sys.exit(f"{len(missing)} ground-truth images have no prediction line, e.g. {sorted(missing)[0]}")
json.dump(results, open(out_path, "w"))
print(f"{len(results)} detections on {len(seen)} images -> {out_path}", file=sys.stderr)
