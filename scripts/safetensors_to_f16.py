#!/usr/bin/env python3
"""Rewrites a safetensors file with float32 tensors stored as float16 (other
dtypes and the metadata unchanged): how crates/carina-assets/models/carina-demo/model.safetensors
was made from the trainer's float32 output. carina-detect reads F16 back as f32.

Usage: safetensors_to_f16.py IN.safetensors OUT.safetensors
"""
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

src, dst = sys.argv[1:3]
with safe_open(src, framework="np") as f:
    meta = f.metadata()
    tensors = {}
    for k in f.keys():
        t = f.get_tensor(k)
        if t.dtype == np.float32:
            h = t.astype(np.float16)
            if not np.all(np.isfinite(h)):
                sys.exit(f"{k} overflows float16")
            t = h
        tensors[k] = t
save_file(tensors, dst, metadata=meta)
