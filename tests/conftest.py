from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
TINY_BANK = FIXTURES / "tiny_bank"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_bank_dir(tmp_path: Path) -> Path:
    """A writable copy of the two-question fixture bank."""
    dst = tmp_path / "bank"
    shutil.copytree(TINY_BANK, dst)
    return dst
