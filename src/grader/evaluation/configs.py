"""Evaluation configurations: ``evals/configs/<name>.yaml`` files of settings overrides.

A config is a YAML mapping of :class:`grader.config.Settings` field names to
values, plus an optional ``description``::

    # evals/configs/prefilter-only.yaml
    description: Embedding similarity only, no LLM.
    judge: similarity

Relative paths (e.g. ``calibration_path``) are resolved against the config
file's directory.  Anything not set comes from the environment (GRADER_*).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from grader.config import REPO_ROOT, Settings, load_settings
from grader.errors import ConfigError

PATH_FIELDS = ("calibration_path", "local_model_path", "bank_dir", "cache_dir", "datasets_dir")


@dataclass(frozen=True)
class EvalConfig:
    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    path: Path | None = None

    def settings(self, **extra: Any) -> Settings:
        """Settings from the environment, then this config, then ``extra``."""
        return load_settings(**{**self.overrides, **extra})

    @property
    def digest(self) -> str:
        blob = json.dumps(self.overrides, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:8]


def config_dirs() -> list[Path]:
    return [Path.cwd() / "evals" / "configs", REPO_ROOT / "evals" / "configs"]


def available() -> list[str]:
    names = {p.stem for d in config_dirs() if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(names)


def load_config(spec: str | None) -> EvalConfig:
    """A config by file path or by name (``evals/configs/<name>.yaml``); None = environment."""
    if spec is None:
        return EvalConfig("env", {}, "settings from the environment (GRADER_*)")
    path = Path(spec)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        found = [d / f"{spec}.yaml" for d in config_dirs() if (d / f"{spec}.yaml").is_file()]
        if not found:
            raise ConfigError(
                f"unknown eval config {spec!r}: give a YAML file or one of "
                f"{', '.join(available()) or '(none found in evals/configs/)'}"
            )
        path = found[0]
    return parse_config(path)


def parse_config(path: Path) -> EvalConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read eval config {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of setting names to values")
    description = str(data.pop("description", ""))
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {unknown}; valid names are the fields of "
            "grader.config.Settings (GRADER_<NAME> without the prefix, lower-case)"
        )
    for key in PATH_FIELDS:
        if isinstance(data.get(key), str):
            value = Path(data[key]).expanduser()
            data[key] = str(value if value.is_absolute() else (path.parent / value).resolve())
    config = EvalConfig(path.stem, data, description, path)
    config.settings()  # fail fast on bad values, naming the variable
    return config
