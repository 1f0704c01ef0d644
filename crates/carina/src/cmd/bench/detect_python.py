# The Python side of `carina bench detect`, on the files it wrote.
#   effdet MODEL.safetensors RUNS WARMUP  -> effdet's tf_efficientdet_d0 (PyTorch) forward
#   ort    MODEL.onnx        RUNS WARMUP  -> onnxruntime on the exported graph
# Prints one JSON line: {"times_ms": [...], "peak_rss_mb": ..., "version": "...", "threads": N}.
import json
import resource
import sys
import time

import numpy as np

mode, path, runs, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
size = 512
rng = np.random.default_rng(0)
x = rng.standard_normal((1, 3, size, size), dtype=np.float32)

if mode == "effdet":
    import torch
    from effdet import create_model
    from safetensors.torch import load_file

    state = load_file(path)
    num_classes = state["class_net.predict.conv_pw.weight"].shape[0] // 9
    model = create_model(
        "tf_efficientdet_d0", num_classes=num_classes, pretrained=False, pretrained_backbone=False
    )
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"weights do not fit effdet: missing {missing[:3]}, unexpected {unexpected[:3]}")
    model.eval()
    inp = torch.from_numpy(x)

    def step():
        with torch.inference_mode():
            model(inp)

    version, threads = f"torch {torch.__version__}", torch.get_num_threads()
elif mode == "ort":
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def step():
        sess.run(None, {name: x})

    version, threads = f"onnxruntime {ort.__version__}", 0
else:
    sys.exit(f"unknown mode {mode}")

for _ in range(warmup):
    step()
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    step()
    times.append((time.perf_counter() - t0) * 1e3)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"times_ms": times, "peak_rss_mb": peak, "version": version, "threads": threads}))
