"""Fuzz the API from its own OpenAPI schema (schemathesis): no 5xx, responses match the schema.

Auth is on (so the ``ignored_auth`` check has something to verify) and the number
of examples per operation is bounded so the whole run stays well under a minute.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from schemathesis import Case, Config

from api_support import FULL_KEY, make_app

MAX_EXAMPLES = 120

CONFIG = f"""
seed = 20240501
suppress-health-check = ["too_slow", "filter_too_much", "data_too_large"]

[generation]
max-examples = {MAX_EXAMPLES}
mode = "all"

# The key goes through the schema's own security scheme, so negative cases that drop or
# mangle the header stay negative (a header added in the call would undo them).
[auth.openapi.HTTPBearer]
bearer = "{FULL_KEY}"

[checks.negative_data_rejection]
# 413 is the documented answer for an answer over its maxLength
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422"]
"""


# Built at import: schemathesis.pytest.from_fixture fails on pytest 9 (Function._nodeid).
_TMP = tempfile.TemporaryDirectory(prefix="grader-fuzz-")
_APP = make_app(Path(_TMP.name), api_keys=[FULL_KEY], max_answer_chars=2000)
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP, config=Config.from_str(CONFIG))


SENT: list[int] = []  # status codes of every request the fuzzer made in this session


@schema.parametrize()
def test_api_conforms_to_its_schema(case: Case) -> None:
    response = case.call_and_validate()
    SENT.append(response.status_code)
    assert response.status_code < 500


def test_the_fuzzer_sent_enough_requests() -> None:
    """Runs after the fuzz tests (file order): at least 1,000 requests, none of them a 5xx."""
    if not SENT:
        pytest.skip("the fuzz tests were deselected in this run")
    assert len(SENT) >= 1000, f"only {len(SENT)} requests: raise MAX_EXAMPLES"
    assert max(SENT) < 500
    counts = {code: SENT.count(code) for code in sorted(set(SENT))}
    print(f"schemathesis sent {len(SENT)} requests: {counts}")
