"""Item-by-item comparison of two eval runs: did a change alter any grade?

    .venv/bin/python bench/compare_runs.py eval-runs/nn46/default-before eval-runs/nn46/default

Compares, for every item in both runs, what a grade is made of: status, score, level,
each criterion's verdict, points, probability and evidence quote, the misconceptions found,
the feedback, the review flag and reasons, and the prefilter's decision. Provenance
(configuration hash, versions) and timings are expected to differ and are not compared.
Exits 1 and lists the differing items when any grade differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

IGNORED = ("provenance", "usage")


def load(run: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for line in (run / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        result = row.get("result") or {"error": row.get("error")}
        out[row["item_id"]] = {k: v for k, v in result.items() if k not in IGNORED}
    return out


def diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in diff(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args()
    before, after = load(args.before), load(args.after)
    common = sorted(set(before) & set(after))
    changed = {i: diff(before[i], after[i]) for i in common}
    changed = {i: d for i, d in changed.items() if d}
    only = sorted(set(before) ^ set(after))
    print(f"{len(common)} items in both runs; {len(changed)} differ; {len(only)} in one run only")
    for item, lines in changed.items():
        print(f"- {item}: " + "; ".join(lines[:5]) + (" …" if len(lines) > 5 else ""))
    if changed or only:
        sys.exit(1)


if __name__ == "__main__":
    main()
