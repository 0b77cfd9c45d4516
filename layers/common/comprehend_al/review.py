"""Which predictions go to human review: uncertainty strategies (pure; the gate is in the store).

Strategies (``/<prefix>/review-strategy``, compared with ``/<prefix>/review-threshold``):

* ``least_confidence``: the top score is *below* the threshold (the public sample's rule);
* ``margin``: top score minus the second score is *below* the threshold;
* ``entropy``: the normalised entropy of the scores (0 = certain, 1 = uniform) is *above* the threshold.

Whatever the strategy, :func:`assess` also reports one ``uncertainty`` in [0, 1] where higher means
less sure (``1 - top``, ``1 - margin`` or the normalised entropy), so clients can compare decisions.

The gate (:mod:`comprehend_al.store.review_gate`) enforces the review budget
(``/<prefix>/review-daily-budget`` human loops per UTC day) and sends the same normalised text to review
at most once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Strategy(StrEnum):
    LEAST_CONFIDENCE = "least_confidence"
    MARGIN = "margin"
    ENTROPY = "entropy"


DEFAULT_DAILY_BUDGET = 100
DEFAULT_THRESHOLDS = {Strategy.LEAST_CONFIDENCE: 0.7, Strategy.MARGIN: 0.2, Strategy.ENTROPY: 0.6}


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    """The review settings read from SSM (a budget of 0 turns review off)."""

    strategy: Strategy = Strategy.LEAST_CONFIDENCE
    threshold: float = DEFAULT_THRESHOLDS[Strategy.LEAST_CONFIDENCE]
    daily_budget: int = DEFAULT_DAILY_BUDGET

    @classmethod
    def parse(cls, strategy: str | None, threshold: str | None, budget: str | None) -> ReviewPolicy:
        """From the SSM strings; a missing value takes the default, a wrong one raises ``ValueError``."""
        try:
            chosen = Strategy((strategy or Strategy.LEAST_CONFIDENCE.value).strip().lower())
        except ValueError as error:
            names = ", ".join(s.value for s in Strategy)
            raise ValueError(f"review strategy {strategy!r} is not one of {names}") from error
        try:
            value = float(threshold) if threshold else DEFAULT_THRESHOLDS[chosen]
            count = int(budget) if budget else DEFAULT_DAILY_BUDGET
        except ValueError as error:
            raise ValueError(f"review threshold / budget not a number: {error}") from error
        if not 0.0 <= value <= 1.0 or count < 0:
            raise ValueError("review threshold must be in [0, 1] and the budget >= 0")
        return cls(chosen, value, count)


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
    if strategy is Strategy.MARGIN:
        margin = top - (ranked[1] if len(ranked) > 1 else 0.0)
        return Assessment(strategy, _unit(1.0 - margin), margin, margin < threshold)
    entropy = normalized_entropy(ranked)
    return Assessment(strategy, entropy, entropy, entropy > threshold)


def _unit(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 6)
