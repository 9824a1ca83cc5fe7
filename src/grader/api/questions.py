"""``GET /v1/questions`` and ``GET /v1/questions/{key}``: the bank, as the operator allows.

``GRADER_EXPOSE_RUBRIC=false`` hides criteria and misconceptions,
``GRADER_EXPOSE_REFERENCE=false`` hides the reference answer: candidates who
hold a key cannot read what the operator hides.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from grader.api.deps import GraderDep, ReadKey, SettingsDep
from grader.api.errors import error_responses
from grader.api.schemas import QuestionDetail, QuestionList, detail_of, summary_of

router = APIRouter(prefix="/v1", tags=["bank"])


@router.get(
    "/questions",
    summary="List the bank",
    description="Every question with its id, number, text, topics and rubric version.",
    responses=error_responses(401, 403),
)
async def list_questions(grader: GraderDep, _key: ReadKey) -> QuestionList:
    items = [summary_of(q) for q in grader.bank]
    return QuestionList(count=len(items), questions=items)


@router.get(
    "/questions/{key}",
    summary="One question",
    description="A question by id ('q01-dropout') or number ('1'); with its rubric and "
    "reference answer unless the operator hides them.",
    responses=error_responses(401, 403, 404),
)
async def get_question(
    grader: GraderDep,
    settings: SettingsDep,
    _key: ReadKey,
    key: Annotated[
        str,
        Path(
            max_length=200,
            description="Question id or number.",
            openapi_examples={
                "by id": {"summary": "By id", "value": "q01-dropout"},
                "by number": {"summary": "By number", "value": "1"},
            },
        ),
    ],
) -> QuestionDetail:
    question = grader.bank.get(key)
    return detail_of(question, rubric=settings.expose_rubric, reference=settings.expose_reference)
