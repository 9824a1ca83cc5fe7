"""Calibrate the transcript question-matching threshold with the real embedding model.

    .venv/bin/python bench/bench_matching.py [--data evals/matching/interviewer_questions.jsonl]

The data are interviewer wordings written for this purpose: paraphrases of bank
questions (``expected`` = the bank id), questions that are not in the bank,
small talk and follow-ups (``expected`` = null).  For each threshold it counts
paraphrases matched to the right question, matched to a wrong one, missed, and
non-bank questions wrongly matched; the chosen threshold maximises
right - wrong - false matches.  A 2-fold split (alternate rows) shows how much of
that is tuned to this very set: the threshold chosen on one half is scored on
the other.  It also reports the precision of matches per confidence band (for
GRADER_TRANSCRIPT_REVIEW_CONFIDENCE).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _data import REPO, labelled_answers

from grader.config import Settings
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.transcripts.match import (
    PlanItem,
    is_follow_up,
    is_small_talk,
    match_scores,
    plan_transcript,
)
from grader.transcripts.parse import Transcript, Turn

THRESHOLDS = [round(t, 2) for t in np.arange(0.30, 0.70, 0.01)]


@dataclass
class Counts:
    right: int = 0
    wrong: int = 0
    missed: int = 0
    false_match: int = 0
    rejected: int = 0

    @property
    def gain(self) -> int:
        return self.right - self.wrong - self.false_match


def count(rows: list[dict[str, object]], best: list[str], conf: np.ndarray, t: float) -> Counts:
    c = Counts()
    for r, b, s in zip(rows, best, conf, strict=True):
        if r["expected"] is None:
            if s >= t:
                c.false_match += 1
            else:
                c.rejected += 1
        elif s < t:
            c.missed += 1
        elif b == r["expected"]:
            c.right += 1
        else:
            c.wrong += 1
    return c


def choose(rows: list[dict[str, object]], best: list[str], conf: np.ndarray) -> float:
    return max(THRESHOLDS, key=lambda t: (count(rows, best, conf, t).gain, -abs(t - 0.45)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--data", type=Path, default=REPO / "evals/matching/interviewer_questions.jsonl"
    )
    args = ap.parse_args()
    rows = [json.loads(x) for x in args.data.read_text().splitlines() if x.strip()]
    settings = Settings(bank_dir=REPO, embedder="sentence-transformers", judge="none")
    grader = Grader(settings, judge=None, store=ResultStore(":memory:"))
    scores = match_scores(grader, [str(r["text"]) for r in rows])
    ids = grader.question_ids
    best = [ids[i] for i in scores.argmax(axis=1)]
    conf = scores.max(axis=1)
    kinds = sorted({str(r["kind"]) for r in rows})
    print(
        f"{len(rows)} wordings: "
        + ", ".join(f"{sum(r['kind'] == k for r in rows)} {k}" for k in kinds)
    )
    for k in kinds:
        v = np.sort(conf[[r["kind"] == k for r in rows]])
        print(f"  {k:11s} match score min {v[0]:.3f}  median {np.median(v):.3f}  max {v[-1]:.3f}")
    pos = [r["expected"] is not None for r in rows]
    top1 = sum(b == r["expected"] for b, r in zip(best, rows, strict=True) if r["expected"])
    print(f"  top-1 bank question right for {top1}/{sum(pos)} paraphrases (no threshold)")
    print("\nthreshold  right  wrong  missed  false-match  (of paraphrases / non-bank)")
    for t in THRESHOLDS[::2]:
        c = count(rows, best, conf, t)
        print(f"  {t:.2f}     {c.right:4d}  {c.wrong:5d}  {c.missed:6d}  {c.false_match:6d}")
    t = choose(rows, best, conf)
    c = count(rows, best, conf, t)
    print(
        f"\nchosen on all rows: {t:.2f} -> right {c.right}, wrong {c.wrong}, missed {c.missed}, "
        f"false matches {c.false_match}/{c.false_match + c.rejected}"
    )
    for name, fit, held in (("even", 0, 1), ("odd", 1, 0)):
        idx_fit = [i for i in range(len(rows)) if i % 2 == fit]
        idx_held = [i for i in range(len(rows)) if i % 2 == held]
        sub = lambda ix: ([rows[i] for i in ix], [best[i] for i in ix], conf[ix])  # noqa: E731
        tf = choose(*sub(idx_fit))
        h = count(*sub(idx_held), tf)
        print(
            f"  fit on {name} rows: threshold {tf:.2f}; held-out half: right {h.right}, "
            f"wrong {h.wrong}, missed {h.missed}, false matches {h.false_match}/"
            f"{h.false_match + h.rejected}"
        )
    print("\nprecision of matches by confidence band (paraphrases, configured threshold)")
    t = grader.transcript_settings.transcript_match_threshold
    for lo, hi in ((t, 0.50), (0.50, 0.55), (0.55, 0.60), (0.60, 1.01)):
        band = [i for i in range(len(rows)) if lo <= conf[i] < hi and rows[i]["expected"]]
        ok = sum(best[i] == rows[i]["expected"] for i in band)
        print(f"  [{lo:.2f}, {min(hi, 1):.2f}): {ok}/{len(band)} right")
    cues(rows)
    planner(grader, rows)


PREVIOUS = PlanItem(
    item=1,
    turns=[1],
    questions=["How does dropout work, and why does it reduce overfitting?"],
    answers=[
        "Dropout randomly zeroes a fraction of the activations at every training step, and it "
        "is switched off at inference. That stops units from co-adapting, a bit like averaging "
        "many thinned networks."
    ],
)


def cues(rows: list[dict[str, object]]) -> None:
    """The text cues for small talk and follow-ups (after a question about dropout)."""
    print("\ntext cues (rows below the threshold; follow-ups judged after a dropout question)")
    for kind in ("small_talk", "off_bank", "follow_up"):
        texts = [str(r["text"]) for r in rows if r["kind"] == kind]
        talk = sum(is_small_talk(x) for x in texts)
        follow = sum(not is_small_talk(x) and is_follow_up(x, PREVIOUS) for x in texts)
        print(f"  {kind:11s} small talk {talk}/{len(texts)}, follow-up {follow}/{len(texts)}")


def planner(grader: Grader, rows: list[dict[str, object]]) -> None:
    """The whole planner (threshold, answer re-ranking, review flags), one wording at a time.

    Paraphrases get an answer from evals/datasets/nn46 (best / median / worst by human
    score, or none); non-bank questions their written answer when the row has one.
    """
    by_question: dict[str, list[dict[str, object]]] = {}
    for a in labelled_answers():
        by_question.setdefault(str(a["question_id"]), []).append(a)
    print("\nthe planner at the configured threshold, answers deciding near-tied wordings")
    for pick in ("none", "best", "median", "worst"):
        right = wrong = missed = false = flagged = 0
        for r in rows:
            answer = str(r.get("answer") or "")
            if r["expected"] and pick != "none":
                ranked = sorted(
                    by_question[str(r["expected"])], key=lambda a: float(str(a["score"]))
                )
                chosen = {"best": -1, "median": len(ranked) // 2, "worst": 0}[pick]
                answer = str(ranked[chosen]["answer"])
            turn = Turn(index=1, question=str(r["text"]), answer=answer)
            item = plan_transcript(grader, Transcript(format="json", turns=[turn])).items[0]
            if item.match is None:
                missed += bool(r["expected"])
                continue
            ok = item.match.question_id == r["expected"]
            right += ok
            wrong += bool(r["expected"]) and not ok
            false += not r["expected"]
            flagged += not ok and item.match.low_confidence
        print(
            f"  {pick:6s} answers: right {right}, wrong {wrong}, missed {missed}, false matches "
            f"{false}; wrong or false matches flagged for review: {flagged}/{wrong + false}"
        )


if __name__ == "__main__":
    main()
