"""effdet's own training loop on a Carina prepared dataset, with Carina's recipe:
the reference side of the learning-curve comparison in docs/training.md.

Needs a Python venv with torch, effdet 0.4.1 (and its timm), safetensors, numpy and
Pillow (`pip install torch effdet safetensors pillow`); matplotlib only for `plot`.

Three sub-commands:

    python3 scripts/effdet_train_curve.py init --out INIT.safetensors \
        --classes DATA/manifest.json [--imagenet LITE0.safetensors] [--size 256] [--seed 0]
        Builds tf_efficientdet_lite0 as effdet does (its own initialisation of the BiFPN
        and heads, the class prior bias), optionally with the ImageNet EfficientNet-Lite0
        backbone (the `efficientnet_lite0` port's names, renamed as Carina's
        `imagenet-lite0:` init renames them), and saves its state_dict with effdet's names.
        `carina train --set 'init="effdet:INIT.safetensors"'` starts from the same file.

    python3 scripts/effdet_train_curve.py train --data DATA --init INIT.safetensors \
        --out OUTDIR --steps N [--batch 8] [--size 256] [--lr 1e-3] [--weight-decay 1e-2]
        [--warmup-steps 50] [--warmup-factor 0.1] [--min-lr-factor 0.01] [--clip 10]
        [--seed 0] [--bn-momentum M] [--threads 2]
        Trains with effdet's DetBenchTrain (effdet's AnchorLabeler at IoU 0.5 and its
        DetectionLoss), torch.optim.AdamW over every parameter (as Carina's burn AdamW:
        betas 0.9/0.999, eps 1e-8, decoupled decay on weights, biases and norms alike),
        Carina's learning rate per step (linear warm-up from warmup_factor·lr, then cosine
        to min_lr_factor·lr), gradients clipped to a global norm, no augmentation, drop
        path off. Images are read as Carina's loader reads them: grayscale scaled to [0, 1],
        letterboxed top-left to the input size, replicated to 3 channels, (x − 0.5) / 0.5.
        Writes OUTDIR/log.csv (per step: lr, loss, class and box loss, positives, seconds)
        and OUTDIR/model/ (model.safetensors with effdet's names and a model.json), which
        `carina eval model --weights OUTDIR/model` reads.

    python3 scripts/effdet_train_curve.py plot --carina RUN/log.csv --effdet OUTDIR/log.csv \
        --out curve.png [--window 25]
        Both runs' losses on one figure: raw per step (faint) and a moving average.

Sample order: each epoch is a permutation drawn from torch's generator seeded with
(seed, epoch); Carina draws its own from ChaCha8, so the two runs see the same images
the same number of times, in different orders.
"""
import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

ARCH = "tf_efficientdet_lite0"
# Blocks per stage of EfficientNet-Lite0 (the port numbers them flat).
LITE0_STAGES = [1, 2, 2, 3, 3, 4, 1]


def build_model(num_classes, size):
    from effdet import create_model

    model = create_model(
        ARCH, bench_task="", num_classes=num_classes, pretrained=False,
        pretrained_backbone=False, image_size=(size, size),
    )
    # Carina has no stochastic depth: make sure none is active.
    for m in model.modules():
        if hasattr(m, "drop_prob"):
            m.drop_prob = 0.0
        if hasattr(m, "drop_path_rate"):
            m.drop_path_rate = 0.0
    return model


def imagenet_name(name):
    """The effdet backbone name of an `efficientnet_lite0` port tensor (None: unused)."""
    if name.endswith("num_batches_tracked") or name.startswith(("_conv_head.", "_bn1.", "_fc.")):
        return None
    if name.startswith("_conv_stem."):
        return "conv_stem." + name[len("_conv_stem."):]
    if name.startswith("_bn0."):
        return "bn1." + name[len("_bn0."):]
    _, flat, layer, param = name.split(".", 3)
    flat = int(flat)
    stage = 0
    while flat >= LITE0_STAGES[stage]:
        flat -= LITE0_STAGES[stage]
        stage += 1
    table = (
        {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
        if stage == 0 else
        {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
         "_project_conv": "conv_pwl", "_bn2": "bn3"}
    )
    return f"blocks.{stage}.{flat}.{table[layer]}.{param}"


def class_names(manifest_path):
    with open(manifest_path) as f:
        return json.load(f)["class_names"]


def metadata(names):
    return {"arch": ARCH, "num_classes": str(len(names)), "class_names": json.dumps(names)}


def cmd_init(a):
    names = class_names(a.classes)
    torch.manual_seed(a.seed)
    model = build_model(len(names), a.size)
    if a.imagenet:
        src = load_file(a.imagenet)
        renamed = {imagenet_name(k): v for k, v in src.items()}
        renamed.pop(None, None)
        own = model.backbone.state_dict()
        missing = [k for k in own if k not in renamed and not k.endswith("num_batches_tracked")]
        extra = [k for k in renamed if k not in own]
        if missing or extra:
            sys.exit(f"ImageNet backbone names do not match: missing {missing[:3]}, extra {extra[:3]}")
        model.backbone.load_state_dict(renamed, strict=False)
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(sd, a.out, metadata=metadata(names))
    print(f"wrote {len(sd)} tensors to {a.out}")


class Split:
    """A split of a Carina prepared dataset, decoded and letterboxed once."""

    def __init__(self, data, split, size):
        with open(os.path.join(data, "manifest.json")) as f:
            manifest = json.load(f)
        self.names = manifest["class_names"]
        with open(os.path.join(data, manifest["splits"][split])) as f:
            coco = json.load(f)
        images_dir = os.path.join(data, manifest.get("images_dir", "images"))
        self.size = size
        self.images = []
        by_id = {}
        for img in coco["images"]:
            by_id[img["id"]] = len(self.images)
            self.images.append({
                "path": os.path.join(images_dir, img["file_name"]),
                "width": img["width"], "height": img["height"], "boxes": [],
            })
        for ann in coco["annotations"]:
            x, y, w, h = ann["bbox"]
            if w <= 0 or h <= 0 or ann.get("iscrowd", 0) or ann.get("ignore") == 1:
                continue
            self.images[by_id[ann["image_id"]]]["boxes"].append(
                (x, y, x + w, y + h, ann["category_id"]))
        self.cache = [None] * len(self.images)

    def __len__(self):
        return len(self.images)

    def get(self, i):
        if self.cache[i] is None:
            self.cache[i] = self._load(self.images[i])
        return self.cache[i]

    def _load(self, info):
        img = Image.open(info["path"])
        if img.mode in ("I;16", "I;16B", "I"):
            arr = np.asarray(img, dtype=np.float32) / 65535.0
        else:
            arr = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
        h, w = arr.shape
        s = self.size
        if (w, h) != (s, s):
            # Carina resizes with a triangle filter; the comparison uses images made at
            # the model's size, so this path is only for other datasets.
            scale = s / max(w, h)
            nw, nh = max(1, min(s, round(w * scale))), max(1, min(s, round(h * scale)))
            arr = np.asarray(Image.fromarray(arr, mode="F").resize((nw, nh), Image.BILINEAR))
        else:
            nw, nh = w, h
        out = np.zeros((s, s), dtype=np.float32)
        out[:nh, :nw] = arr
        sx, sy = nw / info["width"], nh / info["height"]
        # effdet's labeler takes (y0, x0, y1, x1) and 1-based classes.
        boxes = [(b[1] * sy, b[0] * sx, b[3] * sy, b[2] * sx) for b in info["boxes"]]
        classes = [b[4] + 1 for b in info["boxes"]]
        return torch.from_numpy(out), boxes, classes


def learning_rate(a, step):
    """Carina's schedule (crates/carina-train/src/schedule.rs)."""
    if step < a.warmup_steps:
        f = step / a.warmup_steps
        return a.lr * (a.warmup_factor + (1.0 - a.warmup_factor) * f)
    floor = a.lr * a.min_lr_factor
    decay = max(a.steps - a.warmup_steps, 1)
    progress = min((step - a.warmup_steps) / decay, 1.0)
    return floor + (a.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def batches(split, a):
    """Batches of images (normalised, [B, 3, S, S]) and padded boxes/classes, epoch after epoch."""
    n = len(split)
    c = 0
    order, order_epoch = None, -1
    while True:
        imgs, boxes, classes = [], [], []
        for _ in range(a.batch):
            epoch = c // n
            if epoch != order_epoch:
                g = torch.Generator().manual_seed(a.seed * 1_000_003 + epoch)
                order, order_epoch = torch.randperm(n, generator=g).tolist(), epoch
            img, b, k = split.get(order[c % n])
            imgs.append(img)
            boxes.append(b)
            classes.append(k)
            c += 1
        x = torch.stack(imgs).unsqueeze(1).expand(-1, 3, -1, -1)
        x = (x - 0.5) / 0.5
        m = max(1, max(len(b) for b in boxes))
        bbox = torch.zeros(a.batch, m, 4)
        cls = torch.full((a.batch, m), -1.0)
        for i, (b, k) in enumerate(zip(boxes, classes)):
            if b:
                bbox[i, :len(b)] = torch.tensor(b)
                cls[i, :len(k)] = torch.tensor(k, dtype=torch.float32)
        yield x.contiguous(), {"bbox": bbox, "cls": cls}


def cmd_train(a):
    from effdet import DetBenchTrain
    from effdet.anchors import AnchorLabeler, Anchors

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    split = Split(a.data, "train", a.size)
    model = build_model(len(split.names), a.size)
    state = load_file(a.init)
    model.load_state_dict(state, strict=True)
    if a.bn_momentum is not None:
        # Carina's `bn_momentum` overrides every layer's (PyTorch convention).
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.momentum = a.bn_momentum
    # Labels made per batch, as effdet's loader makes them, with effdet's labeler.
    bench = DetBenchTrain(model, create_labeler=False)
    labeler = AnchorLabeler(Anchors.from_config(model.config), len(split.names),
                            match_threshold=0.5)
    bench.train()
    # Every parameter decays, as burn's AdamW applies decay to all of a module's parameters.
    opt = torch.optim.AdamW(
        bench.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=a.weight_decay,
    )
    os.makedirs(os.path.join(a.out, "model"), exist_ok=True)
    log_path = os.path.join(a.out, "log.csv")
    started = time.perf_counter()
    with open(log_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "lr", "class_loss", "box_loss", "total_loss", "grad_norm",
                    "num_positives", "seconds"])
        data = batches(split, a)
        for step in range(a.steps):
            t = time.perf_counter()
            x, gt = next(data)
            cls_t, box_t, pos = labeler.batch_label_anchors(gt["bbox"], gt["cls"])
            target = {"label_num_positives": pos}
            for level, (c, b) in enumerate(zip(cls_t, box_t)):
                target[f"label_cls_{level}"] = c
                target[f"label_bbox_{level}"] = b
            lr = learning_rate(a, step)
            for group in opt.param_groups:
                group["lr"] = lr
            opt.zero_grad(set_to_none=True)
            out = bench(x, target)
            out["loss"].backward()
            norm = torch.nn.utils.clip_grad_norm_(
                bench.parameters(), a.clip if a.clip > 0 else math.inf)
            opt.step()
            w.writerow([step, lr, out["class_loss"].item(), out["box_loss"].item(),
                        out["loss"].item(), float(norm), int(pos.sum().item()),
                        time.perf_counter() - t])
            f.flush()
            if step % 25 == 0 or step == a.steps - 1:
                print(f"step {step}: loss {out['loss'].item():.4f} "
                      f"(cls {out['class_loss'].item():.4f} box {out['box_loss'].item():.5f}) "
                      f"lr {lr:.2e} {time.perf_counter() - t:.2f} s", flush=True)
    wall = time.perf_counter() - started
    model_dir = os.path.join(a.out, "model")
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(model_dir, "model.safetensors"), metadata=metadata(split.names))
    card = {
        "format": "carina-model/2", "arch": ARCH, "num_classes": len(split.names),
        "class_names": split.names, "input_size": a.size, "mean": [0.5] * 3, "std": [0.5] * 3,
        "synthetic": True,
        "notice": "Trained by effdet (scripts/effdet_train_curve.py) on synthetic data: "
                  "a reference for Carina's trainer, not for clinical use.",
    }
    with open(os.path.join(model_dir, "model.json"), "w") as f:
        json.dump(card, f, indent=2)
    print(json.dumps({"steps": a.steps, "wall_s": wall, "out": a.out}))


def read_log(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    step = np.array([int(r["step"]) for r in rows])
    cls = np.array([float(r["class_loss"]) for r in rows])
    box = np.array([float(r["box_loss"]) for r in rows])
    return step, cls, box


def moving_average(v, k):
    if len(v) < k:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    head = c[1:k] / np.arange(1, k)
    return np.concatenate([head, (c[k:] - c[:-k]) / k])


def cmd_plot(a):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [("Carina", a.carina, "tab:blue"), ("effdet", a.effdet, "tab:orange")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), dpi=80)
    for label, path, color in runs:
        step, cls, box = read_log(path)
        # The detection loss as both define it (Carina's total_loss adds the L2 term it
        # reports; effdet's loss does not): class + 50 · box.
        for ax, v, title in zip(axes, [cls + a.box_weight * box, cls, box],
                                ["detection loss (class + 50·box)", "class loss (focal)",
                                 "box loss (Huber)"]):
            ax.plot(step, v, color=color, alpha=0.3, lw=0.6)
            ax.plot(step, moving_average(v, a.window), color=color, lw=1.6,
                    label=f"{label} ({a.window}-step mean)")
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("step")
            ax.set_yscale("log")
            ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out)
    print(f"wrote {a.out}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("init")
    i.add_argument("--out", required=True)
    i.add_argument("--classes", required=True, help="the prepared dataset's manifest.json")
    i.add_argument("--imagenet")
    i.add_argument("--size", type=int, default=256)
    i.add_argument("--seed", type=int, default=0)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True)
    t.add_argument("--init", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--steps", type=int, required=True)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--size", type=int, default=256)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--weight-decay", type=float, default=1e-2)
    t.add_argument("--warmup-steps", type=int, default=50)
    t.add_argument("--warmup-factor", type=float, default=0.1)
    t.add_argument("--min-lr-factor", type=float, default=0.01)
    t.add_argument("--clip", type=float, default=10.0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--bn-momentum", type=float, default=None,
                   help="every batch norm's momentum (default: effdet's, 0.1 backbone, 0.01 rest)")
    t.add_argument("--threads", type=int, default=2)
    q = sub.add_parser("plot")
    q.add_argument("--carina", required=True)
    q.add_argument("--effdet", required=True)
    q.add_argument("--out", required=True)
    q.add_argument("--window", type=int, default=25)
    q.add_argument("--box-weight", type=float, default=50.0)
    a = p.parse_args()
    {"init": cmd_init, "train": cmd_train, "plot": cmd_plot}[a.cmd](a)


if __name__ == "__main__":
    main()
