# Times pycocotools on the files `carina bench eval` wrote: the JSON load
# (COCO() + loadRes()) apart from evaluate() + accumulate() + summarize().
# Prints one JSON line: {"load_s": ..., "eval_s": [...], "stats": [...]}.
import contextlib
import io
import json
import sys
import time

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

gt_path, dt_path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
with contextlib.redirect_stdout(io.StringIO()):
    t0 = time.perf_counter()
    gt = COCO(gt_path)
    dt = gt.loadRes(dt_path)
    load_s = time.perf_counter() - t0
    eval_s = []
    for _ in range(runs):
        t0 = time.perf_counter()
        e = COCOeval(gt, dt, "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
        eval_s.append(time.perf_counter() - t0)
print(json.dumps({"load_s": load_s, "eval_s": eval_s, "stats": [float(s) for s in e.stats]}))
