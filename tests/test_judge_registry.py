"""The judge registry: one table of judge kinds, names parsed once, backends loaded lazily."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TINY_BANK
from grader.config import Settings, load_settings
from grader.errors import ConfigError
from grader.grading.judges import JudgeSpec, make_judge
from grader.grading.judges.registry import KINDS
from grader.grading.judges.similarity import SimilarityJudge
from grader.testing.judge import FakeJudge


def settings(tmp_path: Path, judge: str, **kw: object) -> Settings:
    return Settings(bank_dir=TINY_BANK, cache_dir=tmp_path, embedder="fake", judge=judge, **kw)  # type: ignore[arg-type]


def test_a_name_splits_at_the_first_colon_into_kind_and_arg() -> None:
    assert JudgeSpec.parse("openai:gpt-4o-mini") == JudgeSpec("openai", "gpt-4o-mini")
    assert JudgeSpec.parse("fake:slow:0.2") == JudgeSpec("fake", "slow:0.2")
    assert JudgeSpec.parse("local") == JudgeSpec("local", "")


def test_a_spec_is_frozen_hashable_and_prints_as_its_name() -> None:
    spec = JudgeSpec.parse("openai-compatible:qwen")
    assert {spec: 1}[JudgeSpec("openai-compatible", "qwen")] == 1
    assert str(spec) == "openai-compatible:qwen" and str(JudgeSpec("none")) == "none"
    with pytest.raises(AttributeError):
        spec.kind = "local"  # type: ignore[misc]


def test_an_unknown_kind_is_a_config_error_listing_every_valid_name() -> None:
    with pytest.raises(ConfigError) as info:
        JudgeSpec.parse("gpt4")
    for kind in KINDS.values():
        assert kind.usage in str(info.value)


def test_settings_reject_an_unknown_judge_naming_the_variable_and_the_valid_names() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(judge="anthropic:claude")
    message = str(info.value)
    assert "GRADER_JUDGE" in message and "'anthropic:claude'" in message
    assert "'local', 'fake', 'none', 'similarity', 'openai:<model>' or " in message
    assert "'openai-compatible:<model>'" in message


@pytest.mark.parametrize("name", sorted(KINDS))
def test_settings_accept_every_kind_in_the_table(name: str) -> None:
    assert Settings(judge=f"{name}:x").judge == f"{name}:x"


def test_none_builds_no_judge(tmp_path: Path) -> None:
    assert make_judge(settings(tmp_path, "none")) is None


def test_fake_passes_its_argument_on_as_the_mode(tmp_path: Path) -> None:
    judge = make_judge(settings(tmp_path, "fake:slow:0.2"))
    assert isinstance(judge, FakeJudge) and judge.name == "fake:slow" and judge.delay == 0.2


def test_similarity_is_built_from_its_settings(tmp_path: Path) -> None:
    judge = make_judge(settings(tmp_path, "similarity", similarity_center=0.3))
    assert isinstance(judge, SimilarityJudge) and judge.center == 0.3


def test_every_kind_has_a_usage_and_a_description() -> None:
    for name, kind in KINDS.items():
        assert kind.usage.startswith(f"'{name}") and kind.description


def test_the_registry_imports_no_backend() -> None:
    code = (
        "import sys\n"
        "from grader.grading.judges import registry, make_judge\n"
        "from grader.config import Settings\n"
        "Settings(judge='openai:x')\n"
        "heavy = {'llama_cpp', 'openai', 'torch', 'sentence_transformers', 'numpy'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
