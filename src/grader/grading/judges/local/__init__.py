"""The embedded judge: llama.cpp in-process, checklist probes read from logits.

``judge``        LocalJudge: wires the parts below and maps logits to P(met)
``prompting``    the ChatML prompt segments, probe tokens, P(yes) from a logits row
``runtime``      llama.cpp: KV prefix reuse, prefix snapshots, batched probes (its internals)
``logit_cache``  raw probe logits on disk
``model_files``  assembling and verifying the shipped GGUF
"""

from __future__ import annotations

from grader.grading.judges.local.judge import LocalJudge

__all__ = ["LocalJudge"]
