"""Which documents go to entity review: the uncertainty of a recognizer's spans, and review under a budget.

What a recognizer says of one document is what ``DetectEntities`` on a custom endpoint returns: spans
``{BeginOffset, EndOffset, Type, Score}``, where ``Score`` is the model's confidence in that span with that
type (the local engine: the lowest CRF marginal of the span's tags). Comprehend returns no score for the
other types, so the margin between a span's type and its runner-up (another type, or no entity at all) is
known only through the score: the runner-up has at most ``1 - Score``, so the margin is at least
``2 * Score - 1``; a span scored near 0.5 is a span near a type (or span) boundary. The signals:

* a low-confidence span: ``Score`` below the threshold;
* a boundary dispute: two spans of different types that touch (at most one space or hyphen apart:
  ``New York`` LOCATION + ``Times`` ORGANIZATION); each counts as uncertain whatever its score, its score
  capped at :data:`BOUNDARY_SCORE` (the model split one name it was not sure of);
* many uncertain spans: the ``any_error`` strategy multiplies the spans' scores, so a document with five
  spans at 0.8 (0.33 that all are right) is less sure than one with a single span at 0.6.

Strategies (SSM ``<prefix>/entity_recognizer/review-strategy``, compared with ``.../review-threshold``):

* ``least_confidence``: the document's ``confidence`` is its lowest span score;
* ``any_error``: its ``confidence`` is the product of the span scores (the probability that every span is
  right, taking them as independent).

A document is uncertain when its confidence is *below* the threshold; ``uncertainty = 1 - confidence`` in
[0, 1] ranks documents (:func:`rank`: the batch path and the benchmark pick the most uncertain first). A
document with no spans has confidence 1: nothing the model said is in doubt (a recognizer that misses every
entity of a document is not caught by any uncertainty of its output; the stream's random share is).

The gate (:class:`comprehend_al.store.review_gate.ReviewGate`, with an entity budget key) enforces
``.../review-daily-budget`` human loops per UTC day and sends the same text to entity review at most once.
Loops follow the annotation tool's contract (:func:`loop_input`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from comprehend_al.a2i import loop_name
from comprehend_al.errors import InvalidRequest
from comprehend_al.review import parse_limits, parse_strategy

BOUNDARY_SCORE = 0.5
BOUNDARY_GAP = re.compile(r"^[ \-]?$")  # what may separate two touching spans
DEFAULT_DAILY_BUDGET = 100
DEFAULT_THRESHOLD = 0.8
KIND = "entities"


class EntityStrategy(StrEnum):
    LEAST_CONFIDENCE = "least_confidence"
    ANY_ERROR = "any_error"


@dataclass(frozen=True, slots=True)
class EntityReviewPolicy:
    """The entity review settings read from SSM (a budget of 0 turns entity review off)."""

    strategy: EntityStrategy = EntityStrategy.LEAST_CONFIDENCE
    threshold: float = DEFAULT_THRESHOLD
    daily_budget: int = DEFAULT_DAILY_BUDGET

    @classmethod
    def parse(cls, strategy: str | None, threshold: str | None, budget: str | None) -> EntityReviewPolicy:
        """From the SSM strings; a missing value takes the default, a wrong one raises ``ValueError``."""
        chosen = parse_strategy(EntityStrategy, strategy, EntityStrategy.LEAST_CONFIDENCE, "entity review")
        limits = parse_limits(threshold, DEFAULT_THRESHOLD, budget, DEFAULT_DAILY_BUDGET, "entity review")
        return cls(chosen, *limits)


@dataclass(frozen=True, slots=True)
class Span:
    begin: int
    end: int
    type: str
    score: float

    @classmethod
    def of(cls, entity: Mapping[str, Any]) -> Span:
        """From a DetectEntities entity (``BeginOffset``, ``EndOffset``, ``Type``, ``Score``)."""
        score = float(entity.get("Score", 0.0))
        if not math.isfinite(score):
            score = 0.0
        return cls(int(entity["BeginOffset"]), int(entity["EndOffset"]), str(entity["Type"]), score)


@dataclass(frozen=True, slots=True)
class EntityAssessment:
    strategy: EntityStrategy
    confidence: float  # lowest span score, or their product (any_error); 1.0 without spans
    uncertainty: float  # 1 - confidence, in [0, 1]: higher = less sure
    spans: int
    uncertain_spans: int  # below the threshold, or in a boundary dispute
    boundary_spans: int  # touching a span of another type
    uncertain: bool  # the strategy selects this document


def boundary_disputes(spans: Sequence[Span], text: str | None = None) -> set[int]:
    """Indices of spans that touch a span of another type (at most one space or hyphen between them;
    without the text, adjacent offsets within one character)."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i].begin, spans[i].end))
    disputed: set[int] = set()
    for a, b in itertools.pairwise(order):
        left, right = spans[a], spans[b]
        if left.type == right.type:
            continue
        gap = right.begin - left.end
        if gap < 0:
            touching = True  # overlapping spans of two types: certainly a dispute
        elif text is not None:
            touching = bool(BOUNDARY_GAP.match(text[left.end : right.begin]))
        else:
            touching = gap <= 1
        if touching:
            disputed.update((a, b))
    return disputed


def assess_entities(
    entities: Sequence[Mapping[str, Any]],
    strategy: EntityStrategy,
    threshold: float,
    text: str | None = None,
) -> EntityAssessment:
    """How unsure the recognizer is of one document (``entities``: DetectEntities' list for it)."""
    spans = [Span.of(e) for e in entities]
    disputed = boundary_disputes(spans, text)
    scores = [
        min(max(0.0, min(1.0, s.score)), BOUNDARY_SCORE) if i in disputed else max(0.0, min(1.0, s.score))
        for i, s in enumerate(spans)
    ]
    if not scores:
        confidence = 1.0
    elif strategy is EntityStrategy.LEAST_CONFIDENCE:
        confidence = min(scores)
    else:
        confidence = math.prod(scores)
    uncertain_spans = sum(1 for i, s in enumerate(scores) if s < threshold or i in disputed)
    return EntityAssessment(
        strategy=strategy,
        confidence=round(confidence, 6),
        uncertainty=round(1.0 - confidence, 6),
        spans=len(spans),
        uncertain_spans=uncertain_spans,
        boundary_spans=len(disputed),
        uncertain=bool(scores) and confidence < threshold,
    )


def rank(assessments: Sequence[EntityAssessment], k: int) -> list[int]:
    """Indices of the ``k`` most uncertain documents, most uncertain first (ties: more uncertain spans
    first, then input order)."""
    order = sorted(
        range(len(assessments)),
        key=lambda i: (-assessments[i].uncertainty, -assessments[i].uncertain_spans, i),
    )
    return order[: max(0, k)]


# --- the human loop's input (the annotation tool's contract) ---------------------------------------------
@dataclass(frozen=True, slots=True)
class EntityItem:
    id: str
    text: str
    entities: tuple[Span, ...]  # the model's spans: the annotator starts from them

    def as_input(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "entities": [
                {"BeginOffset": s.begin, "EndOffset": s.end, "Type": s.type, "Score": round(s.score, 6)}
                for s in self.entities
            ],
        }


def loop_input(
    items: Sequence[EntityItem],
    types: Sequence[str],
    *,
    model_version: str | None = None,
    guidelines: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``HumanLoopInput.InputContent`` of an entity loop: ``{"kind": "entities", "items": [...], "types":
    [...], "guidelines"?: {...}, "modelVersion"?: ...}``; ``types``: every type of the recognizer (sorted)."""
    if not items:
        raise InvalidRequest("a human loop needs at least one item")
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise InvalidRequest("item ids of one human loop must be unique")
    known = sorted(set(types) | {s.type for item in items for s in item.entities})
    if not known:
        raise InvalidRequest("an entity loop needs the recognizer's entity types")
    content: dict[str, Any] = {"kind": KIND, "items": [item.as_input() for item in items], "types": known}
    if guidelines:
        content["guidelines"] = {t: str(g) for t, g in guidelines.items() if t in known}
    if model_version:
        content["modelVersion"] = model_version
    return content


def entity_loop_name(item_id: str) -> str:
    """A valid HumanLoopName (``e-<id>``: lower-case letters, digits, hyphens, at most 63) for one item."""
    return loop_name(item_id, prefix="e-")
