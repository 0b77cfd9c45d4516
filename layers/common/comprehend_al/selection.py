"""Champion / challenger selection: promote a newly trained model only if it is better beyond chance.

With per-document outcomes of both models on the same test set (:func:`compare`, the normal case): a
paired bootstrap of the difference in the selection metric (both models scored on the same resampled
documents) at a configurable confidence, McNemar's exact test on per-document correctness reported beside
it, and a maximum drop of any label's recall. Three outcomes, each with its figures:

* ``better``: the interval lies above 0, the improvement reaches ``min_improvement`` and no label's recall
  drops by more than ``max_recall_drop`` → promote;
* ``worse``: the interval lies below 0, or a label's recall drops by more than ``max_recall_drop`` (on a
  label with at least ``MIN_LABEL_SUPPORT`` test documents) → the champion stays and the challenger's new
  batches are held;
* ``indistinguishable``: anything else (including better by less than ``min_improvement``) → the
  champion stays; the new batches did no harm and stay for the next challenger.

Without per-document outcomes (a champion evaluated before they were kept), :func:`select` compares the
two values as before; a rejection there is ``indistinguishable`` (no test says it is worse). Its rules:

* no champion: promote (first model), unless the challenger's metric is missing or not a number;
* promote only if ``challenger - champion >= min_improvement`` AND ``challenger > champion``: a tie keeps
  the champion even with ``min_improvement = 0`` (a new endpoint costs money and carries risk);
* a missing or non-finite (NaN, inf) value on either side rejects the challenger, with the reason: nothing
  is promoted on a number we cannot trust;
* comparisons tolerate float noise of ``EPSILON`` (1e-9): 0.85 - 0.80 counts as an improvement of 0.05.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from comprehend_al.errors import InvalidRequest
from comprehend_al.models import (
    ClassificationMetrics,
    EntityMetrics,
    Frozen,
    SelectionDecision,
    SelectionMetric,
)
from comprehend_al.outcomes import Outcomes
from comprehend_al.stats import mcnemar, paired_bootstrap

EPSILON = 1e-9
MIN_LABEL_SUPPORT = 5  # test documents a label needs before its recall drop can block a promotion
SelectionOutcome = Literal["first", "better", "worse", "indistinguishable", "invalid"]

Metrics = ClassificationMetrics | EntityMetrics


class Selection(Frozen):
    """The outcome of one champion/challenger comparison (part of the state machine's state).

    ``challenger_value`` is None when the challenger's metric is missing or not a number (JSON has no NaN).
    """

    decision: SelectionDecision
    reason: str
    metric: SelectionMetric
    challenger_value: float | None
    champion_value: float | None = None
    improvement: float | None = None
    outcome: SelectionOutcome = "indistinguishable"
    test: dict[str, Any] | None = None  # the paired test's figures


def metric_value(metrics: Metrics, metric: SelectionMetric | str) -> float:
    """The value of ``metric`` (``EntityMetrics``: Accuracy is its F1Score); NaN when it is missing."""
    name = SelectionMetric(metric).value
    value = getattr(metrics, name, None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def select(
    challenger: Metrics,
    champion: Metrics | None,
    *,
    metric: SelectionMetric | str,
    min_improvement: float,
) -> Selection:
    """Decide whether the challenger replaces the champion (see the module docstring for the rules)."""
    metric = SelectionMetric(metric)
    if not math.isfinite(min_improvement) or min_improvement < 0:
        raise InvalidRequest(f"min_improvement must be a finite number >= 0, not {min_improvement!r}")
    if champion is not None and type(challenger) is not type(champion):
        raise InvalidRequest(
            f"cannot compare {type(challenger).__name__} with {type(champion).__name__}: "
            "different model kinds"
        )
    name = metric.value
    new = metric_value(challenger, metric)
    if not math.isfinite(new):
        old = None if champion is None else _finite(metric_value(champion, metric))
        return Selection(
            decision="reject",
            reason=f"challenger has no valid {name} ({new}): it cannot be selected",
            metric=metric,
            challenger_value=None,
            champion_value=old,
            outcome="invalid",
        )
    if champion is None:
        return Selection(
            decision="promote",
            reason=f"first model: no champion to compare with (challenger {name} {new:.4f})",
            metric=metric,
            challenger_value=new,
            outcome="first",
        )
    old = metric_value(champion, metric)
    if not math.isfinite(old):
        return Selection(
            decision="reject",
            reason=(
                f"champion has no valid {name} ({old}) to compare the challenger's {new:.4f} with: "
                "keeping the champion; re-evaluate it on the test set or promote by hand"
            ),
            metric=metric,
            challenger_value=new,
            outcome="invalid",
        )
    improvement = new - old
    values = f"challenger {name} {new:.4f} vs champion {old:.4f}"
    if improvement <= EPSILON:
        decision: SelectionDecision = "reject"
        verdict = "a tie keeps the champion" if abs(improvement) <= EPSILON else "the challenger is worse"
        reason = f"{values} ({improvement:+.4f}): {verdict}"
    elif improvement < min_improvement - EPSILON:
        decision = "reject"
        reason = f"{values}: improvement {improvement:+.4f} is below the required {min_improvement:.4f}"
    else:
        decision = "promote"
        reason = f"{values}: improvement {improvement:+.4f} meets the required {min_improvement:.4f}"
    return Selection(
        decision=decision,
        reason=reason,
        metric=metric,
        challenger_value=new,
        champion_value=old,
        improvement=improvement,
        outcome="better" if decision == "promote" else "indistinguishable",
    )


def compare(
    challenger: Outcomes,
    champion: Outcomes,
    *,
    metric: SelectionMetric | str,
    min_improvement: float,
    confidence: float,
    max_recall_drop: float,
    resamples: int,
    seed: str,
) -> Selection:
    """The paired decision (see the module docstring) on both models' outcomes on the same documents."""
    metric = SelectionMetric(metric)
    name = metric.value
    if len(challenger) != len(champion) or not len(challenger):
        raise InvalidRequest(
            f"{len(challenger)} vs {len(champion)} test documents: the models are not paired"
        )

    def difference(indices: Any) -> float:
        return challenger.metric(name, indices) - champion.metric(name, indices)

    interval = paired_bootstrap(
        len(challenger), difference, confidence=confidence, resamples=resamples, seed=seed
    )
    new, old = challenger.metric(name), champion.metric(name)
    drops = _recall_drops(challenger, champion, max_recall_drop)
    test = {
        "method": "paired bootstrap",
        **interval.as_dict(),
        "mcnemar": mcnemar(challenger.correct, champion.correct).as_dict(),
        "documents": len(challenger),
        "max_recall_drop": max_recall_drop,
        "recall_drops": drops,
    }
    level = f"{confidence:.0%}"
    values = (
        f"challenger {name} {new:.4f} vs champion {old:.4f} ({interval.difference:+.4f}, "
        f"{level} interval [{interval.low:+.4f}, {interval.high:+.4f}])"
    )
    outcome: SelectionOutcome
    if drops:
        worst = max(drops, key=lambda label: drops[label]["drop"])
        outcome = "worse"
        reason = (
            f"{values}; recall of {worst!r} drops {drops[worst]['champion']:.2f} → "
            f"{drops[worst]['challenger']:.2f} (more than {max_recall_drop:.2f}): worse for that label"
        )
    elif interval.low > EPSILON and interval.difference >= min_improvement - EPSILON:
        outcome, reason = "better", f"{values}: better beyond chance"
    elif interval.high < -EPSILON:
        outcome, reason = "worse", f"{values}: worse beyond chance"
    elif interval.low > EPSILON:
        outcome = "indistinguishable"
        reason = f"{values}: better, but by less than the required {min_improvement:.4f}"
    elif interval.low == interval.high == 0.0 == interval.difference:
        outcome, reason = "indistinguishable", f"{values}: a tie keeps the champion"
    else:
        outcome, reason = "indistinguishable", f"{values}: not distinguishable; the champion stays"
    return Selection(
        decision="promote" if outcome == "better" else "reject",
        reason=reason,
        metric=metric,
        challenger_value=new,
        champion_value=old,
        improvement=interval.difference,
        outcome=outcome,
        test=test,
    )


def _recall_drops(
    challenger: Outcomes, champion: Outcomes, max_drop: float
) -> dict[str, dict[str, float | int]]:
    """Labels whose recall falls by more than ``max_drop`` (labels with enough test documents)."""
    new = challenger.recall_by_label()
    drops: dict[str, dict[str, float | int]] = {}
    for label, (recall, support) in champion.recall_by_label().items():
        if support < MIN_LABEL_SUPPORT:
            continue
        now = new.get(label, (0.0, support))[0]
        if recall - now > max_drop + EPSILON:
            drops[label] = {
                "champion": round(recall, 4),
                "challenger": round(now, 4),
                "drop": round(recall - now, 4),
                "documents": support,
            }
    return drops
