"""Judges behind one seam, picked by name through one registry; backends load lazily.

Names (``GRADER_JUDGE``, the table is :data:`registry.KINDS`): ``local``
(embedded llama.cpp, the default), ``fake`` / ``fake:fail`` / ``fake:timeout``
(tests), ``similarity`` (embedding similarity only, no LLM), ``none``,
``openai:<model>`` and ``openai-compatible:<model>``.

``base``         the Judge protocol (judge, ping, close, calibration) and its records
``registry``     JudgeSpec (a parsed name) and the kind -> factory table; make_judge
``calibration``  ProbeCalibration: raw probe logits + prefilter evidence -> P(met)
``similarity``   SimilarityJudge (no language model)
``local/``       LocalJudge: llama.cpp in-process (prompting, runtime, model files)
``remote/``      OpenAIJudge: any OpenAI-compatible server (client, styles, capabilities)
"""

from __future__ import annotations

from grader.grading.judges.base import (
    CriterionEvidence,
    CriterionJudgement,
    Judge,
    JudgeRequest,
    JudgeResponse,
    Prompt,
)
from grader.grading.judges.registry import JudgeSpec, make_judge

__all__ = [
    "CriterionEvidence",
    "CriterionJudgement",
    "Judge",
    "JudgeRequest",
    "JudgeResponse",
    "JudgeSpec",
    "Prompt",
    "make_judge",
]
