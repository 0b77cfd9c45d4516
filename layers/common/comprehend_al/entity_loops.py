"""Entity review: send uncertain documents to people as A2I human loops, pre-filled with the model's spans.

Two ways in, one decision (:meth:`EntityReviewer.decide`, the same code the benchmark measures):

* the stream: ``/analyze`` (:mod:`comprehend_al.inference`) assesses each text it recognized and, when
  the strategy says uncertain, claims the text (at most once per text, ever), takes one unit of the day's
  entity budget and starts a loop with the document;
* documents at rest: :func:`review_documents` (the ``ReviewDocuments`` function, invoked with
  ``{"documents": "s3://<data bucket>/review/entities/<file>", "limit"?: n}``) reads a file of documents (one
  per line, as Comprehend's ``ONE_DOC_PER_LINE`` input), recognizes each with the active recognizer and
  starts loops for the most uncertain ones, most uncertain first, while the day's budget lasts
  (:func:`review_at_rest`). Empty lines and lines over DetectEntities' 5,000 bytes are counted, not sent.

Settings (SSM, under ``<prefix>/entity_recognizer/``): ``review-strategy``, ``review-threshold`` and
``review-daily-budget`` (defaults: :mod:`comprehend_al.entity_review`); the flow definition is the review
one (``<prefix>/review-flow-definition-arn``): the input's ``"kind": "entities"`` tells the worker
template which task it shows. The budget has its own daily counter (``REVIEW#BUDGET#entities``), so entity
loops never spend the classifier's budget, and the text claim its own key (``ner#<sha256>``).

The loop's ``types`` are every type the active recognizer was trained with (``DescribeEntityRecognizer``,
cached per model ARN for the life of the process), so an annotator can add an entity the model missed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from comprehend_al.a2i import HumanReview
from comprehend_al.aws.errors import aws_call
from comprehend_al.aws.s3 import Bucket, split_uri
from comprehend_al.aws.ssm import CachedParameters
from comprehend_al.datasets.classification import text_hash
from comprehend_al.entity_review import (
    EntityAssessment,
    EntityItem,
    EntityReviewPolicy,
    Span,
    assess_entities,
    entity_loop_name,
    loop_input,
    rank,
)
from comprehend_al.errors import InvalidField, ModelNotReady, WorkflowError
from comprehend_al.models import ModelKind
from comprehend_al.observability import logger
from comprehend_al.pointers import Pointers
from comprehend_al.store.review_gate import ReviewGate

KIND = ModelKind.ENTITY_RECOGNIZER.value
REVIEW_STRATEGY = f"{KIND}/review-strategy"
REVIEW_THRESHOLD = f"{KIND}/review-threshold"
REVIEW_BUDGET = f"{KIND}/review-daily-budget"
REVIEW_FLOW = "review-flow-definition-arn"
BUDGET_SCOPE = "entities"  # the gate's counter: REVIEW#BUDGET#entities / <day>
TEXT_SCOPE = "ner#"
AT_REST_PREFIX = "review/entities/"  # where documents at rest wait for review (the function reads only this)
MAX_ENTITY_BYTES = 5_000  # DetectEntities on a custom endpoint


class EntityReviewDecision(BaseModel):
    selected: bool
    strategy: str
    uncertainty: float
    uncertain_spans: int
    # selected | confident | duplicate | budget_exhausted | review_not_configured | review_failed
    reason: str
    human_loop_name: str | None = None
    item_id: str | None = None


@dataclass
class EntityReviewer:
    params: CachedParameters
    gate: ReviewGate
    review: HumanReview
    comprehend: Any  # boto3 Comprehend client (DescribeEntityRecognizer: the model's types)
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    _types: dict[str, list[str]] = field(default_factory=dict)

    def policy(self) -> EntityReviewPolicy:
        try:
            return EntityReviewPolicy.parse(
                self.params.get(REVIEW_STRATEGY),
                self.params.get(REVIEW_THRESHOLD),
                self.params.get(REVIEW_BUDGET),
            )
        except ValueError as error:
            logger.error("entity review parameters invalid: defaults used", extra={"error": str(error)})
            return EntityReviewPolicy()

    def types(self, model_arn: str | None) -> list[str]:
        """Every entity type of the model (empty when it cannot be described: the spans' types then)."""
        if not model_arn:
            return []
        if model_arn not in self._types:
            with aws_call("DescribeEntityRecognizer"):
                described = self.comprehend.describe_entity_recognizer(EntityRecognizerArn=model_arn)
            properties = described.get("EntityRecognizerProperties", {})
            listed = (properties.get("InputDataConfig") or {}).get("EntityTypes") or (
                properties.get("RecognizerMetadata") or {}
            ).get("EntityTypes", [])
            self._types[model_arn] = sorted({str(t["Type"]) for t in listed if t.get("Type")})
        return self._types[model_arn]

    def assess(self, text: str, entities: Sequence[dict[str, Any]]) -> EntityAssessment:
        policy = self.policy()
        return assess_entities(entities, policy.strategy, policy.threshold, text)

    def decide(
        self,
        text: str,
        entities: Sequence[dict[str, Any]],
        *,
        model_arn: str | None,
        model_version: str | None,
        assessment: EntityAssessment | None = None,
        item_id: str | None = None,
    ) -> EntityReviewDecision:
        """Send the document to review when it is uncertain, new to review and within today's budget."""
        policy = self.policy()
        found = assessment or assess_entities(entities, policy.strategy, policy.threshold, text)
        decision = EntityReviewDecision(
            selected=False,
            strategy=found.strategy.value,
            uncertainty=found.uncertainty,
            uncertain_spans=found.uncertain_spans,
            reason="confident",
        )
        if not found.uncertain:
            return decision
        flow = self.params.get(REVIEW_FLOW)
        if not flow:
            return decision.model_copy(update={"reason": "review_not_configured"})
        item_id = item_id or self.new_id()
        digest = TEXT_SCOPE + text_hash(text)
        if not self.gate.claim_text(digest, item_id):
            return decision.model_copy(update={"reason": "duplicate"})
        if not self.gate.take_budget(policy.daily_budget):
            self.gate.release_text(digest, item_id)
            return decision.model_copy(update={"reason": "budget_exhausted"})
        name = entity_loop_name(item_id)
        item = EntityItem(item_id, text, tuple(Span.of(e) for e in entities))
        try:
            content = loop_input([item], self.types(model_arn), model_version=model_version)
            self.review.start(name, flow, content)
        except WorkflowError as error:
            logger.error("entity loop not started", extra={"error": type(error).__name__, "item_id": item_id})
            self.gate.release_text(digest, item_id)
            self.gate.return_budget()
            return decision.model_copy(update={"reason": "review_failed"})
        return decision.model_copy(
            update={"selected": True, "reason": "selected", "human_loop_name": name, "item_id": item_id}
        )


# --- documents at rest ------------------------------------------------------------------------------------
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
