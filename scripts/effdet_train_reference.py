"""effdet's exact gradients for the training-step fixtures, summarised for Carina's tests.

For each architecture of `../shared/fixtures/effdet-train` this runs effdet's
`DetBenchTrain` step (effdet 0.4.1, torch, CPU) on the fixture's weights, batch and
anchor labels:

* once in float64: the exact losses and gradients (up to float64 rounding);
* four times in float32 (1 and 2 threads, the input as given and moved by one ulp at
  random): how far float32 rounding alone moves each gradient.

and writes `crates/carina-train/tests/data/effdet_train_reference.json` with the
float64 losses (total, class, box), the fixture's relative error in each and the largest
relative error of the four float32 runs, and, per parameter (effdet's name): `scale` (largest |gradient|, float64), `fixture_error`
(largest |fixture − float64| / scale: the fixture's own float32 error), `f32_noise`
(the largest such error of the four float32 runs), `l1` (sum of |gradient|) and `proj`
(two signed sums of the float64 gradient, signs from `sign()` below, which
crates/carina-train/tests/effdet/fixture.rs computes the same way).

Usage: python3 scripts/effdet_train_reference.py [SHARED_DIR]
Needs: torch, effdet==0.4.1 (pip). Not run by the tests; its output is committed.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from effdet import create_model

ARCHS = ["tf_efficientdet_lite0", "tf_efficientdet_d0"]
M64 = (1 << 64) - 1


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        start, end = v["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + start:8 + n + end], dtype=dtypes[v["dtype"]]).reshape(v["shape"])
    return out


def sign(count, k):
    """±1 for elements 0..count of projection k (a splitmix64 step of the index)."""
    i = np.arange(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = i * np.uint64(0x9E3779B97F4A7C15) + np.uint64((k + 1) * 0xBF58476D1CE4E5B9 & M64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return np.where((z >> np.uint64(63)) == 1, -1.0, 1.0)


def step(arch, weights, batch, dtype, threads, nudge_seed):
    torch.set_num_threads(threads)
    bench = create_model(arch, bench_task="train", num_classes=9, pretrained=False,
                         pretrained_backbone=False)
    state = {k: torch.from_numpy(np.array(v)) for k, v in weights.items()}
    missing, unexpected = bench.model.load_state_dict(state, strict=False)
    assert not unexpected and all("num_batches" in m for m in missing), (missing, unexpected)
    for m in bench.modules():  # the fixture was made with drop path off
        if hasattr(m, "drop_prob"):
            m.drop_prob = 0.0
    bench = bench.to(dtype)
    bench.train()
    bench.anchor_labeler = None  # the fixture's own labels
    target = {"label_num_positives": torch.from_numpy(np.array(batch["num_positives"])).to(dtype)}
    for level in range(5):
        target[f"label_cls_{level}"] = torch.from_numpy(np.array(batch[f"cls_targets.{level}"])).long()
        target[f"label_bbox_{level}"] = torch.from_numpy(np.array(batch[f"box_targets.{level}"])).to(dtype)
    image = np.array(batch["image"], dtype=np.float32)
    if nudge_seed:
        ulps = np.random.default_rng(nudge_seed).integers(-1, 2, size=image.shape).astype(np.int32)
        image = (image.view(np.int32) + ulps).view(np.float32)
    out = bench(torch.from_numpy(image).to(dtype), target)
    out["loss"].backward()
    grads = {n: p.grad.double().numpy() for n, p in bench.model.named_parameters()}
    losses = [float(out[k]) for k in ("loss", "class_loss", "box_loss")]
    return losses, grads


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../shared")
    result = {}
    for arch in ARCHS:
        folder = os.path.join(shared, "fixtures/effdet-train", arch)
        weights = read_safetensors(os.path.join(folder, "weights.safetensors"))
        batch = read_safetensors(os.path.join(folder, "train_step.safetensors"))
        losses, exact = step(arch, weights, batch, torch.float64, 2, 0)
        f32 = [step(arch, weights, batch, torch.float32, t, s) for t, s in ((1, 0), (2, 0), (1, 1), (2, 2))]
        runs = [g for _, g in f32]
        fixture_losses = [float(batch[k][0]) for k in ("loss", "class_loss", "box_loss")]
        loss_error = [abs(f - e) / abs(e) for f, e in zip(fixture_losses, losses)]
        loss_noise = [max(abs(r[0][i] - e) / abs(e) for r in f32) for i, e in enumerate(losses)]
        params = {}
        for name, g in exact.items():
            scale = float(np.abs(g).max())
            flat = g.reshape(-1)
            fixture = batch[f"grad.{name}"].astype(np.float64)
            rel = lambda other: float(np.abs(other - g).max() / scale) if scale > 0 else 0.0
            params[name] = {
                "scale": scale,
                "fixture_error": rel(fixture),
                "f32_noise": max(rel(r[name]) for r in runs),
                "l1": float(np.abs(flat).sum()),
                "proj": [float((sign(flat.size, k) * flat).sum()) for k in range(2)],
            }
        result[arch] = {"loss": losses, "loss_fixture_error": loss_error, "loss_f32_noise": loss_noise,
                        "params": params}
        print(arch, "float64 losses", losses, file=sys.stderr)
    meta = {
        "made_by": "scripts/effdet_train_reference.py",
        "torch": torch.__version__,
        "effdet": "0.4.1",
    }
    out = os.path.join(os.path.dirname(__file__), "../crates/carina-train/tests/data/effdet_train_reference.json")
    with open(out, "w") as f:
        json.dump({"meta": meta, "archs": result}, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
