"""Which predictions are uncertain enough to wait for review: the buffer's filter (pure Python).

Review is periodic (why: :mod:`comprehend_al.batch_selection`): ``/classify`` buffers a prediction whose
scores pass this module's filter, and the scheduled ``SelectReview`` function picks the day's budget among
the buffered ones with :func:`comprehend_al.batch_selection.select`. The filter, from
``/<prefix>/review-strategy`` and ``/<prefix>/review-threshold``:

* ``least_confidence``: the top score is *below* the threshold (the public sample's rule);
* ``margin`` and the batch strategies (``margin_clusters``, ``badge``): top score minus the second score
  is *below* the threshold;
* ``entropy``: the normalised entropy of the scores (0 = certain, 1 = uniform) is *above* the threshold.

Whatever the strategy, :func:`assess` also reports one ``uncertainty`` in [0, 1] where higher means
less sure (``1 - top``, ``1 - margin`` or the normalised entropy), so clients can compare decisions.

The gate (:mod:`comprehend_al.store.review_gate`) holds the buffer, enforces the review budget
(``/<prefix>/review-daily-budget`` human loops per UTC day) and sends the same normalised text to review
at most once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from comprehend_al.observability import logger

S = TypeVar("S", bound=StrEnum)  # a strategy enum (parse_strategy)

REVIEW_STRATEGY = "review-strategy"  # SSM parameter names, under /<prefix>/
REVIEW_THRESHOLD = "review-threshold"
REVIEW_BUDGET = "review-daily-budget"
REVIEW_FLOW = "review-flow-definition-arn"


class Strategy(StrEnum):
    LEAST_CONFIDENCE = "least_confidence"
    MARGIN = "margin"
    ENTROPY = "entropy"
    MARGIN_CLUSTERS = "margin_clusters"  # uncertainty within clusters, with class quotas
    BADGE = "badge"


DEFAULT_STRATEGY = Strategy.MARGIN_CLUSTERS
DEFAULT_DAILY_BUDGET = 100
# The batch strategies buffer generously (margin < 0.5) and let the selection rank and spread.
DEFAULT_THRESHOLDS = {
    Strategy.LEAST_CONFIDENCE: 0.7,
    Strategy.MARGIN: 0.2,
    Strategy.ENTROPY: 0.6,
    Strategy.MARGIN_CLUSTERS: 0.5,
    Strategy.BADGE: 0.5,
}


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    """The review settings read from SSM (a budget of 0 turns review off)."""

    strategy: Strategy = DEFAULT_STRATEGY
    threshold: float = DEFAULT_THRESHOLDS[DEFAULT_STRATEGY]
    daily_budget: int = DEFAULT_DAILY_BUDGET

    @classmethod
    def parse(cls, strategy: str | None, threshold: str | None, budget: str | None) -> ReviewPolicy:
        """From the SSM strings; a missing value takes the default, a wrong one raises ``ValueError``."""
        chosen = parse_strategy(Strategy, strategy, DEFAULT_STRATEGY, "review")
        limits = parse_limits(threshold, DEFAULT_THRESHOLDS[chosen], budget, DEFAULT_DAILY_BUDGET, "review")
        return cls(chosen, *limits)


def parse_strategy(strategies: type[S], value: str | None, default: S, what: str) -> S:
    """A strategy from its SSM string (``None`` or empty: ``default``); ``ValueError`` names the choices."""
    try:
        return strategies((value or default.value).strip().lower())
    except ValueError as error:
        names = ", ".join(s.value for s in strategies)
        raise ValueError(f"{what} strategy {value!r} is not one of {names}") from error


def parse_limits(
    threshold: str | None, default_threshold: float, budget: str | None, default_budget: int, what: str
) -> tuple[float, int]:
    """A review threshold in [0, 1] and a daily budget ≥ 0 from their SSM strings (``None`` or empty: the
    defaults); ``ValueError`` otherwise."""
    try:
        value = float(threshold) if threshold else default_threshold
        count = int(budget) if budget else default_budget
    except ValueError as error:
        raise ValueError(f"{what} threshold / budget not a number: {error}") from error
    if not 0.0 <= value <= 1.0 or count < 0:
        raise ValueError(f"{what} threshold must be in [0, 1] and the budget >= 0")
    return value, count


class Parameters(Protocol):
    def get(self, name: str) -> str | None: ...


def review_policy(params: Parameters) -> ReviewPolicy:
    """The review policy from SSM; invalid values are logged and the defaults used."""
    try:
        return ReviewPolicy.parse(
            params.get(REVIEW_STRATEGY), params.get(REVIEW_THRESHOLD), params.get(REVIEW_BUDGET)
        )
    except ValueError as error:
        logger.error("review parameters invalid: defaults used", extra={"error": str(error)})
        return ReviewPolicy()


@dataclass(frozen=True, slots=True)
class Assessment:
    strategy: Strategy
    uncertainty: float  # in [0, 1], higher = less sure (comparable across strategies)
    measure: float  # what the threshold is compared with: top score, margin, or normalised entropy
    uncertain: bool  # the strategy selects this prediction


def _probabilities(scores: Sequence[float]) -> list[float]:
    clipped = [max(0.0, float(s)) for s in scores]
    total = sum(clipped)
    return [s / total for s in clipped] if total > 0 else [1.0 / len(clipped)] * len(clipped)


def normalized_entropy(scores: Sequence[float]) -> float:
    """Shannon entropy of the (renormalised) scores divided by log(K): 0 = one class, 1 = uniform."""
    if len(scores) < 2:
        return 0.0
    probabilities = _probabilities(scores)
    entropy = -sum(p * math.log(p) for p in probabilities if p > 0)
    return min(1.0, max(0.0, entropy / math.log(len(probabilities))))


def assess(scores: Sequence[float], strategy: Strategy, threshold: float) -> Assessment:
    """How unsure the model is of one prediction (``scores``: one per class, any order)."""
    if not scores:
        return Assessment(strategy, 1.0, 0.0, True)  # no scores at all: a human should look
    ranked = sorted((float(s) for s in scores), reverse=True)
    top = ranked[0]
    if strategy is Strategy.LEAST_CONFIDENCE:
        return Assessment(strategy, _unit(1.0 - top), top, top < threshold)
    if strategy is not Strategy.ENTROPY:  # margin and the batch strategies
        margin = top - (ranked[1] if len(ranked) > 1 else 0.0)
        return Assessment(strategy, _unit(1.0 - margin), margin, margin < threshold)
    entropy = normalized_entropy(ranked)
    return Assessment(strategy, entropy, entropy, entropy > threshold)


def _unit(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 6)
