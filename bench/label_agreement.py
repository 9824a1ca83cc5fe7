"""How far two labellers of the same answers agree: is the label noise what limits the grader?

    .venv/bin/python bench/label_agreement.py nn46 evals/relabels/nn46-second-labeller.jsonl
    .venv/bin/python bench/label_agreement.py nn46-holdout      # its two labellers (meta)

With a relabel file (lines ``{"id", "score", "criteria", "misconceptions"}``, made
blind: the second labeller saw the answers and the rubrics, not the first
labels), the dataset's labels are compared with it.  Without one, a dataset
whose lines carry ``meta.labeller-1`` / ``meta.labeller-2`` (nn46-holdout) is
compared labeller against labeller.  Prints score agreement (QWK on scores
rounded half up, Pearson, MAE, mean difference), the share of equal criterion
verdicts and of equal misconception sets.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from grader.evaluation.datasets import load_dataset
from grader.evaluation.metrics import score_agreement

REPO = Path(__file__).resolve().parents[1]


def pairs(dataset: str, relabel: Path | None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    items = load_dataset(dataset, REPO / "no-external-data").items
    if relabel is not None:
        second = {}
        for line in relabel.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                second[row["id"]] = row
        missing = [item.id for item in items if item.id not in second]
        if missing:
            raise SystemExit(f"{relabel} lacks {len(missing)} answers' labels, e.g. {missing[0]}")
        first = [
            {"score": i.score, "criteria": i.criteria, "misconceptions": i.misconceptions}
            for i in items
        ]
        return list(zip(first, [second[i.id] for i in items], strict=True))
    out = []
    for item in items:
        if "labeller-1" not in item.meta or "labeller-2" not in item.meta:
            raise SystemExit(f"{item.id} has no meta.labeller-1/-2: give a relabel file")
        one = {"criteria": item.criteria, "misconceptions": item.misconceptions}
        out.append(({**one, **item.meta["labeller-1"]}, item.meta["labeller-2"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", help="nn46, nn46-holdout or a path")
    ap.add_argument("relabel", nargs="?", type=Path, help="JSONL of the second labels")
    args = ap.parse_args()
    rows = pairs(args.dataset, args.relabel)
    a = np.array([float(x["score"]) for x, _ in rows])
    b = np.array([float(y["score"]) for _, y in rows])
    s = score_agreement(a, b)
    verdicts = [
        (v, y["criteria"].get(k)) for x, y in rows for k, v in (x["criteria"] or {}).items()
    ]
    same_sets = [set(x["misconceptions"]) == set(y["misconceptions"]) for x, y in rows]
    print(f"{args.dataset}: {len(rows)} answers labelled twice")
    print(
        f"scores: QWK {s['qwk']:.3f}  Pearson {s['pearson']:.3f}  MAE {s['mae']:.2f}  "
        f"second - first {np.mean(b - a):+.2f}"
    )
    print(
        f"criterion verdicts equal: {np.mean([u == v for u, v in verdicts]):.3f} "
        f"of {len(verdicts)}; misconception sets equal: {np.mean(same_sets):.3f}"
    )


if __name__ == "__main__":
    main()
