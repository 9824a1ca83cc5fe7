"""What each kind of OpenAI-compatible server accepts, in one table.

Servers differ in small ways that break requests: llama-cpp-python's server
rejects ``response_format.type == "json_schema"`` and the ``developer`` role,
ignores ``max_completion_tokens`` and does not enforce integer bounds in a
schema.  Instead of special cases all over the judge, each server kind has a
row of :class:`Capabilities`; the judge reads the row and nothing else.

The kind comes from ``GRADER_JUDGE_SERVER`` (``auto`` by default: ``openai``
for ``GRADER_JUDGE=openai:<model>``, otherwise detected from the ``owned_by``
field of the server's ``GET /models``), and single fields can be overridden
with ``GRADER_JUDGE_CAPABILITIES='{"logprobs": false}'``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from grader.errors import ConfigError

OutputMode = Literal["json_schema", "json_object_schema", "json_object", "none"]
ServerKind = Literal["openai", "llama-cpp", "vllm", "ollama", "generic"]
SERVER_KINDS: tuple[ServerKind, ...] = ("openai", "llama-cpp", "vllm", "ollama", "generic")


@dataclass(frozen=True)
class Capabilities:
    """How to talk to one kind of server."""

    kind: str
    # structured output: json_schema (strict, OpenAI style) | json_object_schema (json_object
    # with a ``schema`` field, llama.cpp style, sent via extra_body) | json_object | none
    output: OutputMode = "json_object"
    system_role: str = "system"  # "developer" for OpenAI's newer models
    max_tokens_param: str = "max_tokens"  # or "max_completion_tokens"
    logprobs: bool = True  # returns choices[0].logprobs.content[0].top_logprobs
    top_logprobs: int = 10  # how many alternatives to ask for (OpenAI allows up to 20)
    seed: bool = True  # accepts a sampling seed
    enforces_bounds: bool = False  # enforces integer minimum/maximum of the schema


CAPABILITIES: dict[ServerKind, Capabilities] = {
    "openai": Capabilities(
        "openai",
        output="json_schema",
        system_role="developer",
        max_tokens_param="max_completion_tokens",
        top_logprobs=20,
        enforces_bounds=True,
    ),
    "llama-cpp": Capabilities("llama-cpp", output="json_object_schema"),
    "vllm": Capabilities("vllm", output="json_schema"),
    "ollama": Capabilities("ollama", output="json_schema", logprobs=False),
    "generic": Capabilities("generic", output="json_object"),
}

# ``owned_by`` of ``GET /models`` -> server kind (first match wins)
_OWNED_BY: dict[str, ServerKind] = {
    "me": "llama-cpp",  # llama-cpp-python's server
    "llamacpp": "llama-cpp",  # llama.cpp's own llama-server
    "vllm": "vllm",
    "library": "ollama",
    "ollama": "ollama",
    "openai": "openai",
    "system": "openai",
    "openai-internal": "openai",
}


def kind_from_owners(owners: Iterable[str | None]) -> ServerKind:
    """Guess the server kind from the ``owned_by`` values of its model list."""
    for owner in owners:
        kind = _OWNED_BY.get((owner or "").strip().lower())
        if kind is not None:
            return kind
    return "generic"


def capabilities_for(kind: str, overrides: Mapping[str, object] | None = None) -> Capabilities:
    """The row for ``kind`` with ``overrides`` (from GRADER_JUDGE_CAPABILITIES) applied."""
    if kind not in CAPABILITIES:
        raise ConfigError(
            f"unknown judge server kind {kind!r}: set GRADER_JUDGE_SERVER to one of "
            f"auto, {', '.join(SERVER_KINDS)}"
        )
    caps = CAPABILITIES[kind]
    if not overrides:
        return caps
    fields = {f.name: f for f in dataclasses.fields(Capabilities) if f.name != "kind"}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ConfigError(
            f"GRADER_JUDGE_CAPABILITIES has unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(fields)}"
        )
    for key, value in overrides.items():
        expected = type(getattr(caps, key))
        if type(value) is not expected:
            raise ConfigError(
                f"GRADER_JUDGE_CAPABILITIES[{key!r}] must be {expected.__name__}, got {value!r}"
            )
    if "output" in overrides and overrides["output"] not in (
        "json_schema",
        "json_object_schema",
        "json_object",
        "none",
    ):
        raise ConfigError(
            "GRADER_JUDGE_CAPABILITIES['output'] must be json_schema, json_object_schema, "
            f"json_object or none, got {overrides['output']!r}"
        )
    return dataclasses.replace(caps, **overrides)  # type: ignore[arg-type]
