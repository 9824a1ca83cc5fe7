"""Settings: flat GRADER_* variables, one group per stage, a hash of everything that can re-score."""

from __future__ import annotations

import pytest

from grader.config import OPERATIONAL, Settings, load_settings
from grader.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("review_margin", 0.2),
        ("judge_base_url", "http://127.0.0.1:9999/v1"),
        ("judge_capabilities", {"logprobs": False}),
        ("judge_style", "checklist"),
        ("met_probability", 0.7),
        ("off_topic_margin", 0.25),
        ("embed_dtype", "float32"),
    ],
)
def test_every_scoring_setting_changes_the_hash(name: str, value: object) -> None:
    """Two servers behind the same judge name, or other thresholds, never share cached grades."""
    assert load_settings(**{name: value}).scoring_hash() != load_settings().scoring_hash()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("api_workers", 7),
        ("max_queue", 3),
        ("judge_timeout", 5.0),
        ("api_keys", ["k1"]),
        ("judge_api_key", "sk-secret"),
        ("transcript_workers", 1),
    ],
)
def test_operational_settings_leave_the_hash_alone(name: str, value: object) -> None:
    assert name in OPERATIONAL
    assert load_settings(**{name: value}).scoring_hash() == load_settings().scoring_hash()


def test_operational_list_names_only_real_settings() -> None:
    assert OPERATIONAL.issubset(Settings.model_fields)


def test_groups_carry_the_flat_values_each_stage_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_MET_PROBABILITY", "0.7")
    monkeypatch.setenv("GRADER_OFF_TOPIC_MARGIN", "0.25")
    monkeypatch.setenv("GRADER_JUDGE", "similarity")
    monkeypatch.setenv("GRADER_API_KEYS", "a,b")
    s = load_settings()
    assert s.scoring.met_probability == 0.7
    assert s.prefilter.off_topic_margin == 0.25
    assert s.judging.judge == "similarity"
    assert s.api.api_keys == ["a", "b"]
    assert s.storage.database == s.cache_dir / "grader.db"
    assert s.transcripts.transcript_match_threshold == s.transcript_match_threshold


def test_groups_are_frozen() -> None:
    s = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        s.scoring.met_probability = 0.1  # type: ignore[misc]


def test_bad_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="GRADER_MET_PROBABILITY"):
        load_settings(met_probability=2)
