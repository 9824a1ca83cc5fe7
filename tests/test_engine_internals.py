"""The engine internals the grader relies on exist in the installed versions (no model loaded).

``grading/judges/local/runtime.py`` drives llama-cpp-python below its public API
(the context, the KV memory, state snapshots, raw batches) and
``grading/embeddings.py`` reaches into sentence-transformers' first module.
pyproject.toml pins both; when an upgrade moves one of these names, these tests
fail and say which pin to fix, instead of a grade failing at run time.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import tomllib
from typing import Any

import pytest
from packaging.requirements import Requirement

from conftest import REPO

# what runtime.py calls, by owner
LLAMA_CPP_FUNCTIONS = (
    "llama_state_seq_get_size",
    "llama_state_seq_get_data",
    "llama_state_seq_set_data",
    "llama_memory_seq_rm",
    "llama_memory_seq_cp",
)
LLAMA_METHODS = ("tokenize", "eval", "reset", "n_ctx", "n_vocab", "close")
LLAMA_INSTANCE_ATTRIBUTES = ("_ctx", "_model", "input_ids", "n_tokens", "context_params", "n_batch")
LLAMA_ARGUMENTS = ("model_path", "n_ctx", "n_threads", "n_threads_batch", "n_batch", "seed",
                   "logits_all", "verbose")  # fmt: skip
CONTEXT_METHODS = ("decode", "get_logits", "get_logits_ith", "kv_cache_seq_rm", "close")
CONTEXT_PARAMS_FIELDS = ("n_seq_max", "kv_unified")
BATCH_FIELDS = ("n_tokens", "token", "pos", "seq_id", "n_seq_id", "logits")
ENCODE_ARGUMENTS = ("batch_size", "convert_to_numpy", "normalize_embeddings", "show_progress_bar")


def pin(distribution: str) -> str:
    """The requirement of ``distribution`` in pyproject.toml's dependencies."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(d for d in deps if Requirement(d).name == distribution)


def fix_the_pin(distribution: str, missing: list[str]) -> str:
    version = importlib.metadata.version(distribution)
    return (
        f"{distribution} {version} lacks {', '.join(missing)}: the grader needs the versions "
        f"pinned in pyproject.toml ({pin(distribution)!r}); reinstall those, or adapt the code "
        "and move the pin"
    )


def assigned_in_init(cls: type, names: tuple[str, ...]) -> list[str]:
    """Instance attributes of ``names`` that ``cls.__init__`` no longer assigns."""
    source = inspect.getsource(cls.__init__)  # type: ignore[misc]
    return [n for n in names if f"self.{n} =" not in source and f"self.{n}:" not in source]


def missing_parameters(func: Any, names: tuple[str, ...]) -> list[str]:
    params = inspect.signature(func).parameters
    return [f"{func.__qualname__}({n}=)" for n in names if n not in params]


@pytest.mark.parametrize("distribution", ["llama-cpp-python", "sentence-transformers"])
def test_installed_version_is_within_the_pin(distribution: str) -> None:
    requirement = Requirement(pin(distribution))
    version = importlib.metadata.version(distribution)
    assert requirement.specifier.contains(version), (
        f"{distribution} {version} is installed, pyproject.toml pins {str(requirement)!r}: "
        "run `pip install -e '.[dev]'`, or check this test file and the model tests "
        "against the new version and move the pin"
    )


def test_llama_cpp_low_level_functions_exist() -> None:
    from llama_cpp import llama_cpp

    missing = [f"llama_cpp.llama_cpp.{f}" for f in LLAMA_CPP_FUNCTIONS if not hasattr(llama_cpp, f)]
    assert not missing, fix_the_pin("llama-cpp-python", missing)


def test_llama_cpp_structs_have_the_fields_runtime_sets() -> None:
    from llama_cpp import llama_cpp

    def fields(struct: Any) -> set[str]:
        return {name for name, *_ in struct._fields_}

    missing = [
        f"llama_context_params.{f}"
        for f in CONTEXT_PARAMS_FIELDS
        if f not in fields(llama_cpp.llama_context_params)
    ]
    missing += [f"llama_batch.{f}" for f in BATCH_FIELDS if f not in fields(llama_cpp.llama_batch)]
    assert not missing, fix_the_pin("llama-cpp-python", missing)


def test_llama_keeps_the_attributes_runtime_reads() -> None:
    from llama_cpp import Llama

    missing = [f"Llama.{m}()" for m in LLAMA_METHODS if not callable(getattr(Llama, m, None))]
    missing += [f"Llama.{a}" for a in assigned_in_init(Llama, LLAMA_INSTANCE_ATTRIBUTES)]
    missing += missing_parameters(Llama.__init__, LLAMA_ARGUMENTS)
    assert not missing, fix_the_pin("llama-cpp-python", missing)


def test_llama_internals_context_and_batch_exist() -> None:
    from llama_cpp import _internals

    ctx, batch = _internals.LlamaContext, _internals.LlamaBatch
    missing = [f"LlamaContext.{m}()" for m in CONTEXT_METHODS if not hasattr(ctx, m)]
    missing += [f"LlamaContext.{a}" for a in assigned_in_init(ctx, ("ctx", "memory"))]
    missing += missing_parameters(ctx.__init__, ("model", "params", "verbose"))
    missing += [f"LlamaBatch.{a}" for a in assigned_in_init(batch, ("batch",))]
    missing += [] if hasattr(batch, "close") else ["LlamaBatch.close()"]
    missing += missing_parameters(batch.__init__, ("n_tokens", "embd", "n_seq_max", "verbose"))
    assert not missing, fix_the_pin("llama-cpp-python", missing)


def test_sentence_transformers_keeps_what_the_embedder_uses() -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Transformer

    missing = [
        f"SentenceTransformer.{a}"
        for a in ("tokenizer", "max_seq_length", "encode", "to", "__getitem__")
        if not hasattr(SentenceTransformer, a)
    ]
    missing += [] if hasattr(Transformer, "auto_model") else ["Transformer.auto_model"]
    missing += missing_parameters(SentenceTransformer.encode, ENCODE_ARGUMENTS)
    assert not missing, fix_the_pin("sentence-transformers", missing)
