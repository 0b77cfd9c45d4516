"""Entity review: send uncertain documents to people as A2I human loops, pre-filled with the model's spans.

Two ways in, one decision (:meth:`EntityReviewer.decide`, the same code the benchmark measures):

* the stream: ``/analyze`` (:mod:`comprehend_al.inference`) assesses each text it recognized and, when
  the strategy says uncertain, claims the text (at most once per text, ever), takes one unit of the day's
  entity budget and starts a loop with the document;
* documents at rest: :mod:`comprehend_al.entity_at_rest` (the ``ReviewDocuments`` function) recognizes a
  file of documents and sends the most uncertain first, through :meth:`EntityReviewer.decide`, while the
  day's budget lasts.

Settings (SSM, under ``<prefix>/entity_recognizer/``): ``review-strategy``, ``review-threshold`` and
``review-daily-budget`` (defaults: :mod:`comprehend_al.entity_review`); the flow definition is the review
one (``<prefix>/review-flow-definition-arn``): the input's ``"kind": "entities"`` tells the worker
template which task it shows. The budget has its own daily counter (``REVIEW#BUDGET#entities``), so entity
loops never spend the classifier's budget, and the text claim its own key (``ner#<sha256>``).

Gold documents (quality control, :mod:`comprehend_al.annotation.gold`): with
``<prefix>/entity_recognizer/review-gold-rate`` above 0 (default 0: off), that share of the loops carries one
gold document of the gold set (``annotation/gold/``, read once per process) at a random place among the items;
its known answer stays on the server, where ProcessReview scores each annotator on it.

The loop's ``types`` are every type the active recognizer was trained with (``DescribeEntityRecognizer``,
cached per model ARN for the life of the process), so an annotator can add an entity the model missed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from comprehend_al.a2i import HumanReview
from comprehend_al.annotation.gold import GoldDocument, mix_gold
from comprehend_al.aws.errors import aws_call
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
)
from comprehend_al.errors import WorkflowError
from comprehend_al.models import ModelKind
from comprehend_al.observability import logger
from comprehend_al.store.review_gate import ReviewGate

KIND = ModelKind.ENTITY_RECOGNIZER.value
REVIEW_STRATEGY = f"{KIND}/review-strategy"
REVIEW_THRESHOLD = f"{KIND}/review-threshold"
REVIEW_BUDGET = f"{KIND}/review-daily-budget"
REVIEW_FLOW = "review-flow-definition-arn"
REVIEW_GOLD_RATE = f"{KIND}/review-gold-rate"
BUDGET_SCOPE = "entities"  # the gate's counter: REVIEW#BUDGET#entities / <day>
TEXT_SCOPE = "ner#"


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
    gold: Callable[[], Sequence[GoldDocument]] | None = None  # the gold set (None: no gold documents)
    draw: Callable[[], float] = field(default=random.random)
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

    def gold_rate(self) -> float:
        raw = self.params.get(REVIEW_GOLD_RATE)
        try:
            rate = float(raw) if raw else 0.0
        except ValueError:
            logger.error("entity review gold rate is not a number: no gold", extra={"value": raw})
            return 0.0
        return min(1.0, max(0.0, rate))

    def _with_gold(self, content: dict[str, Any]) -> dict[str, Any]:
        """One gold document among the loop's items, for ``review-gold-rate`` of the loops."""
        rate = self.gold_rate()
        if self.gold is None or rate <= 0.0 or self.draw() >= rate:
            return content
        ids = {item["id"] for item in content["items"]}
        usable = [
            g for g in self.gold() if g.id not in ids and {s.type for s in g.answer} <= set(content["types"])
        ]
        return {**content, "items": mix_gold(content["items"], usable, 1)} if usable else content

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
            content = self._with_gold(loop_input([item], self.types(model_arn), model_version=model_version))
            self.review.start(name, flow, content)
        except WorkflowError as error:
            logger.error("entity loop not started", extra={"error": type(error).__name__, "item_id": item_id})
            self.gate.release_text(digest, item_id)
            self.gate.return_budget()
            return decision.model_copy(update={"reason": "review_failed"})
        return decision.model_copy(
            update={"selected": True, "reason": "selected", "human_loop_name": name, "item_id": item_id}
        )
