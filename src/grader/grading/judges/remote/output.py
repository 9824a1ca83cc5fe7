"""Structured judge output: the pydantic model, its JSON schema, parsing and checks.

The structured style (:mod:`.structured`) asks for one JSON object validated
by :class:`GradingOutput`, whose field descriptions are the instructions.
:func:`parse_output` turns a raw reply into a :class:`Parsed` (or raises
:class:`OutputProblem` with a message that is quoted back to the model when
re-asking):

* not JSON / not valid / a rubric criterion without a verdict -> problem;
* verdicts for ids that are not in the rubric -> dropped, noted;
* misconception confidence outside 0..100 (llama.cpp does not enforce schema
  bounds) -> clamped, noted;
* evidence quotes are checked against the answer (whitespace and case
  normalised): :attr:`Parsed.untrusted` lists the met/partial verdicts and
  reported mistakes whose evidence is not in the answer.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from grader.models import Rubric
from grader.text import normalise

Verdict = Literal["met", "partial", "not_met"]
CONFIDENCE_RANGE = (0, 100)


class CriterionAssessment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="The rubric point's id, copied exactly from the list.")
    verdict: Verdict = Field(
        description="met: the answer clearly states this idea, in any wording. partial: it "
        "states part of the idea (see the rubric's partial credit). not_met: absent, wrong, "
        "or only vague buzzwords."
    )
    evidence: str | None = Field(
        description="For met or partial: the shortest exact quote from the candidate's answer "
        "that shows it, copied character for character. null for not_met."
    )


class MisconceptionAssessment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="The mistake's id, copied exactly from the list.")
    evidence: str | None = Field(
        description="The exact quote from the candidate's answer that makes this mistake."
    )
    confidence: Annotated[int, Field(ge=0, le=100)] = Field(
        description="How sure you are that the answer makes this mistake, 0 to 100."
    )

    @field_validator("confidence", mode="before")
    @classmethod
    def _clamp(cls, v: object) -> object:
        if isinstance(v, int | float) and not isinstance(v, bool):
            lo, hi = CONFIDENCE_RANGE
            return int(min(max(round(v), lo), hi))
        return v


class GradingOutput(BaseModel):
    """The judge's whole reply."""

    model_config = ConfigDict(extra="ignore")

    criteria: list[CriterionAssessment] = Field(
        description="One entry for every rubric point listed, in the same order."
    )
    misconceptions: list[MisconceptionAssessment] = Field(
        description="Only the listed mistakes that the answer actually makes; [] when none."
    )
    summary: str = Field(
        description="Two or three sentences of feedback to the candidate: what is right, "
        "what is missing or wrong."
    )


# ----------------------------------------------------------------------------- schema


def output_schema(rubric: Rubric, strict: bool = False) -> dict[str, Any]:
    """JSON schema of :class:`GradingOutput` for one rubric: ids are enums, refs inlined.

    ``strict`` makes it acceptable to OpenAI's strict mode (every property
    required, no additional properties, no defaults).
    """
    schema: dict[str, Any] = json.loads(_base_schema())
    props = schema["properties"]
    crit, miscon = props["criteria"], props["misconceptions"]
    crit["items"]["properties"]["id"]["enum"] = [c.id for c in rubric.criteria]
    crit["minItems"] = crit["maxItems"] = len(rubric.criteria)
    miscon["maxItems"] = len(rubric.misconceptions)
    if rubric.misconceptions:
        miscon["items"]["properties"]["id"]["enum"] = [m.id for m in rubric.misconceptions]
    # No string maxLength: OpenAI's strict mode rejects it and llama.cpp's grammar for it
    # is several times slower per token; max tokens bound a rambling reply instead.
    result: dict[str, Any] = _strict(schema) if strict else _strip_titles(schema)
    return result


@functools.cache
def _base_schema() -> str:
    return json.dumps(_inline_refs(GradingOutput.model_json_schema()))


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = {k: walk(v) for k, v in schema.items()}
    return result


def _strip_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_titles(v) for k, v in node.items() if k not in ("title", "default")}
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node


def _strict(node: Any) -> Any:
    node = _strip_titles(node)
    if isinstance(node, dict):
        node = {k: _strict(v) for k, v in node.items()}
        if node.get("type") == "object":
            node["additionalProperties"] = False
            node["required"] = list(node.get("properties", {}))
    elif isinstance(node, list):
        node = [_strict(v) for v in node]
    return node


# ----------------------------------------------------------------------------- parsing


class OutputProblem(Exception):
    """The reply cannot be used; the message is quoted back to the model."""


@dataclass
class Parsed:
    output: GradingOutput
    criteria: dict[str, CriterionAssessment]
    misconceptions: dict[str, MisconceptionAssessment]
    notes: list[str] = field(default_factory=list)
    untrusted: dict[str, str | None] = field(default_factory=dict)  # id -> the bad quote


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def parse_output(raw: str | None, rubric: Rubric, answer: str, truncated: bool) -> Parsed:
    """Validate one reply against the rubric and the answer (see the module docstring)."""
    if raw is None or not raw.strip():
        raise OutputProblem("the reply was empty")
    text = _FENCE.sub(r"\1", raw)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if truncated:
            raise OutputProblem(
                "the reply was cut off at the token limit before the JSON object ended; "
                "keep evidence quotes short"
            ) from None
        raise OutputProblem(f"the reply is not valid JSON ({exc})") from None
    try:
        output = GradingOutput.model_validate(data)
    except ValidationError as exc:
        raise OutputProblem(_validation_message(exc)) from None
    parsed = _index(output, rubric)
    _check_evidence(parsed, answer)
    return parsed


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:8]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    return "the JSON does not follow the schema: " + "; ".join(parts)


def _index(output: GradingOutput, rubric: Rubric) -> Parsed:
    notes: list[str] = []
    crit_ids = {c.id for c in rubric.criteria}
    miscon_ids = {m.id for m in rubric.misconceptions}
    criteria: dict[str, CriterionAssessment] = {}
    for item in output.criteria:
        if item.id in crit_ids:
            criteria.setdefault(item.id, item)
    unknown = [i.id for i in output.criteria if i.id not in crit_ids]
    if unknown:
        notes.append(f"ignored verdicts for unknown criteria: {', '.join(unknown)}")
    missing = [c.id for c in rubric.criteria if c.id not in criteria]
    if missing:
        raise OutputProblem(
            f"no verdict for rubric point(s) {', '.join(missing)}; give one entry for each of: "
            f"{', '.join(c.id for c in rubric.criteria)}"
            + (f" (unknown ids: {', '.join(unknown)})" if unknown else "")
        )
    miscon: dict[str, MisconceptionAssessment] = {}
    for m in output.misconceptions:
        if m.id in miscon_ids:
            miscon.setdefault(m.id, m)
        else:
            notes.append(f"ignored unknown misconception {m.id!r}")
    return Parsed(output, criteria, miscon, notes)


def quote_in_answer(quote: str | None, answer: str) -> str | None:
    """The quote, trimmed of wrapping quotes/ellipses, if it occurs in the answer; else None."""
    if not quote:
        return None
    trimmed = quote.strip().strip("\"'“”‘’`").strip()
    trimmed = trimmed.removeprefix("...").removesuffix("...").strip()
    for candidate in (trimmed, trimmed.rstrip(".")):
        if normalise(candidate) and normalise(candidate) in normalise(answer):
            return candidate
    return None


def _check_evidence(parsed: Parsed, answer: str) -> None:
    for cid, item in parsed.criteria.items():
        if item.verdict == "not_met":
            continue
        found = quote_in_answer(item.evidence, answer)
        if found is None:
            parsed.untrusted[cid] = item.evidence
        else:
            item.evidence = found
    for mid, m in parsed.misconceptions.items():
        found = quote_in_answer(m.evidence, answer)
        if found is None:
            parsed.untrusted[mid] = m.evidence
        else:
            m.evidence = found
