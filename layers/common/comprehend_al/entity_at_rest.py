"""Documents at rest → entity review: the ``ReviewDocuments`` function's logic (the batch path).

``{"documents": "s3://<data bucket>/review/entities/<file>", "limit"?: n}``: the file (UTF-8, one document
per line, as Comprehend's ``ONE_DOC_PER_LINE`` input) is recognized line by line with the active recognizer;
the most uncertain documents go to review first (:func:`comprehend_al.entity_review.rank`), through the same
decision as ``/analyze``'s (:meth:`comprehend_al.entity_loops.EntityReviewer.decide`: the gate, the day's
entity budget, once per text), until the budget is spent. Empty lines and lines over DetectEntities'
5,000 bytes are counted, not sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from comprehend_al.aws.errors import aws_call
from comprehend_al.aws.s3 import Bucket, split_uri
from comprehend_al.entity_loops import EntityReviewer
from comprehend_al.entity_review import assess_entities, rank
from comprehend_al.errors import InvalidField, ModelNotReady
from comprehend_al.models import ModelKind
from comprehend_al.observability import logger
from comprehend_al.pointers import Pointers

AT_REST_PREFIX = "review/entities/"  # where documents at rest wait for review (the function reads only this)
MAX_ENTITY_BYTES = 5_000  # DetectEntities on a custom endpoint


class AtRestRequest(BaseModel):
    documents: str  # s3://<data bucket>/review/entities/<file>: UTF-8, one document per line
    limit: int | None = Field(None, ge=0)  # at most this many loops (besides the day's budget)


class AtRestResult(BaseModel):
    documents: int
    uncertain: int
    started: int
    reasons: dict[str, int]  # decision reason → documents (of those tried, most uncertain first)
    loops: list[str]
    skipped: dict[str, int] = Field(default_factory=dict)  # empty | too_large → lines not recognized


def review_at_rest(
    documents: Sequence[str],
    recognize: Callable[[str], Sequence[dict[str, Any]]],
    reviewer: EntityReviewer,
    *,
    model_arn: str | None,
    model_version: str | None,
    limit: int | None = None,
) -> AtRestResult:
    """Recognize every document, then send the most uncertain ones to review (at most ``limit``, and
    while the day's budget lasts): the batch path of the same decision as ``/analyze``'s."""
    policy = reviewer.policy()
    recognized = [list(recognize(text)) for text in documents]
    assessments = [
        assess_entities(ents, policy.strategy, policy.threshold, text)
        for text, ents in zip(documents, recognized, strict=True)
    ]
    uncertain = [i for i, a in enumerate(assessments) if a.uncertain]
    order = [i for i in rank(assessments, len(assessments)) if assessments[i].uncertain]
    reasons: dict[str, int] = {}
    loops: list[str] = []
    for index in order[: len(order) if limit is None else max(0, limit)]:
        decision = reviewer.decide(
            documents[index],
            recognized[index],
            model_arn=model_arn,
            model_version=model_version,
            assessment=assessments[index],
        )
        reasons[decision.reason] = reasons.get(decision.reason, 0) + 1
        if decision.human_loop_name:
            loops.append(decision.human_loop_name)
        if decision.reason == "budget_exhausted":
            break  # the day's budget is spent: the rest wait for tomorrow
    return AtRestResult(
        documents=len(documents), uncertain=len(uncertain), started=len(loops), reasons=reasons, loops=loops
    )


@dataclass
class AtRestDeps:
    bucket: Bucket
    pointers: Pointers
    comprehend: Any  # boto3 Comprehend client
    reviewer: EntityReviewer


def read_documents(data: bytes, source: str) -> tuple[list[str], dict[str, int]]:
    """The documents of a ONE_DOC_PER_LINE file and the lines left out (``empty``, ``too_large``);
    InvalidField naming the file and line when it is not UTF-8."""
    documents: list[str] = []
    skipped = {"empty": 0, "too_large": 0}
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip(b"\r")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidField(
                f"{source} line {number}: not UTF-8 ({error.reason})", field="documents"
            ) from error
        if not text.strip():
            skipped["empty"] += 1
            continue
        if len(line) > MAX_ENTITY_BYTES:
            skipped["too_large"] += 1
            continue
        documents.append(text)
    return documents, {k: v for k, v in skipped.items() if v}


def review_documents(request: AtRestRequest, deps: AtRestDeps) -> AtRestResult:
    """Documents at rest in the data bucket → entity loops for the most uncertain, within the budget."""
    bucket, key = split_uri(request.documents) if request.documents.startswith("s3://") else ("", "")
    if bucket != deps.bucket.name or not key.startswith(AT_REST_PREFIX) or key.endswith("/"):
        raise InvalidField(
            f"documents must be a file under s3://{deps.bucket.name}/{AT_REST_PREFIX}, "
            f"not {request.documents!r}",
            field="documents",
        )
    active = deps.pointers.read(ModelKind.ENTITY_RECOGNIZER)
    if not active.endpoint_arn:
        raise ModelNotReady("no entity recognizer is active yet: nothing can assess the documents")
    documents, skipped = read_documents(deps.bucket.get(key), request.documents)

    def recognize(text: str) -> list[dict[str, Any]]:
        with aws_call("DetectEntities"):
            response = deps.comprehend.detect_entities(Text=text, EndpointArn=active.endpoint_arn)
        return [dict(e) for e in response.get("Entities", [])]

    result = review_at_rest(
        documents,
        recognize,
        deps.reviewer,
        model_arn=active.model_arn,
        model_version=active.version,
        limit=request.limit,
    )
    logger.info(
        "documents at rest assessed",
        extra={"documents": result.documents, "uncertain": result.uncertain, "started": result.started},
    )
    return result.model_copy(update={"skipped": skipped})
