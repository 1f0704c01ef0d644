"""One effdet training step (tf_efficientdet_d0, batch 4, 512x512): the
reference for `cargo bench -p carina-train --bench train_step` and
`carina bench train`.

Usage: python3 effdet_train_step.py THREADS REPEATS [DEVICE]
DEVICE is `cpu` (the default) or a torch device such as `cuda` or `cuda:1`;
on a GPU each timed step ends with a synchronisation, as Carina's ends by
reading the loss back.
Prints one JSON object: {"median_s": ..., "runs": [...], "device": ...}.
"""
import json
import statistics
import sys
import time

import torch
from effdet import create_model
from effdet.anchors import AnchorLabeler, Anchors

threads, repeats = int(sys.argv[1]), int(sys.argv[2])
device = torch.device(sys.argv[3] if len(sys.argv) > 3 else "cpu")
torch.set_num_threads(threads)
torch.manual_seed(0)
# No download at run time: random weights for the backbone too (the step costs the same).
bench = create_model(
    "tf_efficientdet_d0", bench_task="train", num_classes=9, pretrained=False,
    pretrained_backbone=False,
)
bench = bench.to(device)
bench.train()
opt = torch.optim.SGD(bench.parameters(), lr=0.01, momentum=0.9, weight_decay=4e-5)
x = torch.randn(4, 3, 512, 512, device=device)
# Boxes are (y_min, x_min, y_max, x_max) in input pixels; classes are 1-based in effdet.
boxes = torch.tensor([[[100.0, 120.0, 220.0, 260.0], [300.0, 40.0, 380.0, 110.0]]] * 4)
classes = torch.tensor([[1.0, 5.0]] * 4)
# Anchor labels are made once, outside the timed step, as effdet's data loader
# (and Carina's loader threads) make them.
labeler = AnchorLabeler(Anchors.from_config(bench.config), 9, match_threshold=0.5)
cls_t, box_t, num_pos = labeler.batch_label_anchors(boxes, classes)
target = {"label_num_positives": num_pos}
for i, (c, b) in enumerate(zip(cls_t, box_t)):
    target[f"label_cls_{i}"] = c
    target[f"label_bbox_{i}"] = b
target = {k: v.to(device) for k, v in target.items()}


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step():
    opt.zero_grad()
    out = bench(x, target)
    out["loss"].backward()
    torch.nn.utils.clip_grad_norm_(bench.parameters(), 10.0)
    opt.step()
    sync()


step()  # warm-up
runs = []
for _ in range(repeats):
    t = time.perf_counter()
    step()
    runs.append(time.perf_counter() - t)
print(json.dumps({"median_s": statistics.median(runs), "runs": runs, "device": str(device)}))
