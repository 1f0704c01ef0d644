#!/usr/bin/env python3
"""pick.py CONTROL_FILE N OUT_DIR: from the control file of a libFuzzer
merge (`-merge=1 -merge_control_file=F`, inputs taken smallest first; each
input's COV line lists the code edges it added to those before it), copies
the N inputs that added the most edges (ties: smaller first) to OUT_DIR.
Measure what they cover with another merge into an empty folder
(docs/fuzzing.md)."""
import os, shutil, sys

ctl, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(ctl).read().split("\n")
nfiles = int(lines[0])
files = lines[2:2 + nfiles]
cov = {}
for l in lines[2 + nfiles:]:
    p = l.split()
    if len(p) >= 2 and p[0] == "COV":
        cov[int(p[1])] = set(map(int, p[2:]))
allc = set().union(*cov.values()) if cov else set()
ranked = sorted(cov, key=lambda i: (-len(cov[i]), os.path.getsize(files[i])))
chosen = [i for i in ranked if cov[i]][:n]
have = set().union(*(cov[i] for i in chosen)) if chosen else set()
os.makedirs(out, exist_ok=True)
for i in chosen:
    shutil.copy(files[i], os.path.join(out, os.path.basename(files[i])))
print(f"{len(chosen)} inputs, {sum(os.path.getsize(files[i]) for i in chosen)} bytes")
