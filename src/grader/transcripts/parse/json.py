"""JSON transcripts: the accepted shape as pydantic models (and so as a JSON Schema).

``{"candidate": {...} | "name", "turns": [turn, ...], ...metadata}`` or a bare
list of turns.  A turn names its question by ``question`` (the interviewer's
words), ``question_id`` or ``question_number``, and carries the ``answer``
(text; ``null`` or absent for no answer).  Other keys are kept as metadata
(top level) or ignored (turns: timestamps, speakers, ...).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from grader.errors import TranscriptError
from grader.text import METADATA_MAX_BYTES, METADATA_MAX_DEPTH, json_problem, shown
from grader.transcripts.parse.turns import EXPECTED, Transcript, Turn, one_line, tidy

_QUESTION_KEYS = ("question", "question_id", "question_number")
_NAMES_NO_QUESTION = (
    'names no question: give "question" (the interviewer\'s words), "question_id" or '
    '"question_number"'
)


class TurnIn(BaseModel):
    """One turn of a JSON transcript."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"anyOf": [{"required": [k]} for k in _QUESTION_KEYS]},
    )

    question: StrictStr | SkipJsonSchema[None] = Field(
        default=None, description="The interviewer's own words."
    )
    question_id: StrictStr | SkipJsonSchema[None] = Field(
        default=None, description="Bank id such as 'q11-dropout'."
    )
    question_number: StrictInt | SkipJsonSchema[None] = Field(
        default=None, description="Bank number such as 11."
    )
    answer: StrictStr | None = Field(default="", description="The candidate's reply.")

    @model_validator(mode="before")
    @classmethod
    def _names_a_question(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = [k for k in _QUESTION_KEYS if k in data and data[k] is None]
            if nulls:
                raise ValueError(f'"{nulls[0]}" is null: leave it out or give a value')
            if not any(k in data for k in _QUESTION_KEYS):
                raise ValueError(_NAMES_NO_QUESTION)
        return data


class TranscriptIn(BaseModel):
    """A JSON transcript: candidate, turns and any other metadata."""

    model_config = ConfigDict(extra="allow")

    candidate: dict[str, Any] | StrictStr | SkipJsonSchema[None] = Field(
        default=None, description='{"name": ..., ...} or just the name.'
    )
    turns: list[TurnIn] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _no_null_candidate(cls, data: Any) -> Any:
        if isinstance(data, dict) and "candidate" in data and data["candidate"] is None:
            raise ValueError('"candidate" is null: leave it out or give {"name": ...}')
        return data


Body = TranscriptIn | list[TurnIn]
_ADAPTER: TypeAdapter[Body] = TypeAdapter(Body)


def request_schema() -> dict[str, Any]:
    """The JSON Schema of a JSON transcript, self-contained (no ``$ref``)."""
    schema = _ADAPTER.json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    out: dict[str, Any] = inline(schema)
    out["anyOf"][1]["minItems"] = 1
    return out


# A transcript nests 3 levels ({"turns": [{...}]}); metadata and candidate get the API's 8 more.
MAX_DEPTH = 3 + METADATA_MAX_DEPTH
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _bounded_int(digits: str) -> int:
    # int() of 4,300+ digits raises; 66 characters still tell json_problem the number is too long
    return int(digits[:66])


def _too_deep(text: str, name: str) -> TranscriptError:
    """For JSON too deep for json.loads: name the top-level key that nests too deeply."""
    depth, key = 0, "a turn"
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                break
        elif token in ("]", "}"):
            depth -= 1
        elif depth == 1 and text.startswith("{"):
            key = shown(token)  # the last string at the top level before a deep value: its key
    return TranscriptError(f"{name}: {key} nests deeper than {MAX_DEPTH} levels: flatten it")


def _check_metadata(data: object, name: str) -> None:
    problem = json_problem(data, "$", max_depth=MAX_DEPTH)
    if problem is not None:
        raise TranscriptError(f"{name}: {problem.where} {problem.message}")
    if isinstance(data, dict):
        meta = {k: v for k, v in data.items() if k != "turns"}
        size = len(json.dumps(meta, ensure_ascii=False).encode())
        if size > METADATA_MAX_BYTES:
            raise TranscriptError(
                f'{name}: the candidate and other keys besides "turns" are {size:,} bytes as '
                f"JSON, over the limit of {METADATA_MAX_BYTES:,}: send less metadata"
            )


def parse_json(text: str, name: str) -> Transcript:
    """A JSON transcript; raises TranscriptError saying what is wrong and where."""
    try:
        data = json.loads(text, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise TranscriptError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): "
            f"{EXPECTED}"
        ) from None
    except RecursionError:
        raise _too_deep(text.lstrip(), name) from None
    _check_metadata(data, name)
    if isinstance(data, dict) and not isinstance(data.get("turns"), list):
        raise TranscriptError(f'{name} has no "turns" list: {EXPECTED}')
    if not isinstance(data, dict | list):
        raise TranscriptError(f"{name} holds a JSON {type(data).__name__}: {EXPECTED}")
    if not (data.get("turns") if isinstance(data, dict) else data):
        raise TranscriptError(f"no question/answer turns found in {name}: {EXPECTED}")
    try:
        body = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise TranscriptError(_explain(exc, name, isinstance(data, list))) from None
    return _transcript(body)


def _explain(exc: ValidationError, name: str, bare: bool) -> str:
    """The first few problems, as 'turn 3: "answer" must be text'."""
    problems = []
    wanted = "list[TurnIn]" if bare else "TranscriptIn"
    for e in exc.errors():
        loc = list(e["loc"])
        if not loc or loc[0] != wanted or e["type"] == "none_required":  # the skipped None branch
            continue
        loc = loc[1:]
        if not bare and loc and loc[0] == "turns" and len(loc) > 1:
            loc = loc[1:]
        where = f"turn {int(loc[0]) + 1}" if loc and isinstance(loc[0], int) else ""
        field = (
            next((str(p) for p in loc[1:] if isinstance(p, str)), None)
            if where
            else (str(loc[0]) if loc else None)
        )
        msg = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] in ("string_type", "int_type"):
            kind = "text" if e["type"] == "string_type" else "a whole number such as 11"
            msg = f"must be {kind}, got {type(e['input']).__name__}"
        if e["type"] in ("model_type", "model_attributes_type"):
            msg = 'must be an object {"question": ..., "answer": ...}'
        label = f'"{field}" ' if field and e["type"] != "value_error" else ""
        problems.append(f"{where}{': ' if where else ''}{label}{msg}".strip())
    shown = "; ".join(dict.fromkeys(problems[:3])) or str(exc)
    return f"{name}: {shown}"


def _transcript(body: Body) -> Transcript:
    if isinstance(body, list):
        turns_in, candidate, meta = body, {}, {}
    else:
        turns_in = body.turns
        candidate = body.candidate if isinstance(body.candidate, dict) else {}
        if isinstance(body.candidate, str):
            candidate = {"name": body.candidate}
        meta = dict(body.model_extra or {})
    turns = [
        Turn(
            index=i,
            question=one_line(t.question or ""),
            answer=tidy(t.answer or ""),
            question_id=t.question_id.strip() if t.question_id else None,
            question_number=t.question_number,
        )
        for i, t in enumerate(turns_in, start=1)
    ]
    return Transcript(format="json", candidate=candidate, metadata=meta, turns=turns)
