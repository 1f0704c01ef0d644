#!/usr/bin/env python3
"""Import circles between source files (A imports B imports A), for the
Rust crates under crates/ and the web editor under web/src.

A Rust file imports another when it names an item of the other's module by
a `crate::…` or `super::…` path (in a `use` tree or inline); a JavaScript
module imports another by a relative `import … from './x.js'` (static or
dynamic). Files in a circle are reported as strongly connected components of
that graph; the exit status is the number of circles (0 = none).

Usage: scripts/import-cycles.py [--list]   (--list prints every edge too)
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    # String literals may hold `crate::` in messages; drop their contents.
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` → ['a::b', 'a::c::d', 'a::c::e']."""
    tree = tree.strip()
    if "{" not in tree:
        return [tree]
    head, rest = tree.split("{", 1)
    depth, parts, cur = 0, [], ""
    body = rest[: rest.rfind("}")]
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        p = p.strip()
        if not p:
            continue
        for sub in expand_use_tree(p):
            out.append(head + sub)
    return out


def rust_module_of(src_dir, path):
    rel = os.path.relpath(path, src_dir)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


def rust_file_of(src_dir, segs):
    """The file of the longest prefix of `segs` that is a module."""
    for n in range(len(segs), -1, -1):
        base = os.path.join(src_dir, *segs[:n]) if n else src_dir
        for cand in ([base + ".rs", os.path.join(base, "mod.rs")] if n else
                     [os.path.join(src_dir, "lib.rs"), os.path.join(src_dir, "main.rs")]):
            if os.path.isfile(cand):
                return cand
    return None


def strip_inline_modules(text):
    """Drops `mod name { … }` blocks (test modules): inside them `super::`
    is the file itself, and test-only imports are not the architecture."""
    out, i = [], 0
    for m in re.finditer(rf"\bmod\s+{IDENT}\s*\{{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 0, m.end() - 1
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        i = j + 1
    out.append(text[i:])
    return "".join(out)


def rust_paths(text):
    """Every `crate::…`/`super::…` path named in the text."""
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        for p in expand_use_tree(m.group(1)):
            p = re.sub(r"\s+", "", p)
            p = re.sub(r"\bas\b.*$", "", p)
            paths.append(p)
    body = re.sub(r"\buse\s+[^;]+;", "", text)
    for m in re.finditer(rf"\b((?:crate|super)(?:::(?:super|{IDENT}))+)", body):
        paths.append(m.group(1))
    return [p for p in paths if p.startswith(("crate::", "super::"))]


def rust_edges(crate_dir):
    src = os.path.join(crate_dir, "src")
    files = []
    for d, _, names in os.walk(src):
        files += [os.path.join(d, n) for n in names if n.endswith(".rs")]
    edges = {}
    for f in files:
        text = strip_inline_modules(strip_comments(open(f, encoding="utf-8").read()))
        here = rust_module_of(src, f)
        targets = set()
        for p in rust_paths(text):
            segs = p.split("::")
            if segs[0] == "crate":
                mod = segs[1:]
            else:
                mod = list(here)
                while segs and segs[0] == "super":
                    mod = mod[:-1]
                    segs = segs[1:]
                mod = mod + segs
            mod = [s for s in mod if s not in ("self", "*")]
            t = rust_file_of(src, mod)
            if t and t != f:
                targets.add(t)
        edges[f] = targets
    return edges


def js_edges(web_src):
    edges = {}
    for d, _, names in os.walk(web_src):
        for n in names:
            if not n.endswith(".js"):
                continue
            f = os.path.join(d, n)
            text = open(f, encoding="utf-8").read()
            targets = set()
            for m in re.finditer(r"""(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}/[^'"]+)['"]""", text):
                t = os.path.normpath(os.path.join(d, m.group(1)))
                if os.path.isfile(t) and t != f:
                    targets.add(t)
            edges[f] = targets
    return edges


def cycles(edges):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    graphs = []
    crates = os.path.join(ROOT, "crates")
    for c in sorted(os.listdir(crates)):
        if os.path.isdir(os.path.join(crates, c, "src")):
            graphs.append((f"crates/{c}", rust_edges(os.path.join(crates, c))))
    web = os.path.join(ROOT, "web", "src")
    if os.path.isdir(web):
        graphs.append(("web/src", js_edges(web)))
    found = 0
    for name, edges in graphs:
        if "--list" in sys.argv:
            for f in sorted(edges):
                for t in sorted(edges[f]):
                    print(f"{os.path.relpath(f, ROOT)} -> {os.path.relpath(t, ROOT)}")
        for comp in cycles(edges):
            found += 1
            print(f"circle in {name}: " + " ⇄ ".join(os.path.relpath(f, ROOT) for f in comp))
    print(f"{found} import circle(s)")
    return min(found, 255)


if __name__ == "__main__":
    sys.exit(main())
