"""Champion / challenger selection: promote a newly trained model only if it is measurably better.

Both models are evaluated on the same fixed test set, so their metrics are comparable. Rules:

* no champion: promote (first model), unless the challenger's metric is missing or not a number;
* promote only if ``challenger - champion >= min_improvement`` AND ``challenger > champion``: a tie keeps
  the champion even with ``min_improvement = 0`` (a new endpoint costs money and carries risk);
* a missing or non-finite (NaN, inf) value on either side rejects the challenger, with the reason: nothing
  is promoted on a number we cannot trust;
* comparisons tolerate float noise of ``EPSILON`` (1e-9): 0.85 - 0.80 counts as an improvement of 0.05.
"""

from __future__ import annotations

import math

from comprehend_al.errors import InvalidRequest
from comprehend_al.models import (
    ClassificationMetrics,
    EntityMetrics,
    Frozen,
    SelectionDecision,
    SelectionMetric,
)

EPSILON = 1e-9

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
        )
    if champion is None:
        return Selection(
            decision="promote",
            reason=f"first model: no champion to compare with (challenger {name} {new:.4f})",
            metric=metric,
            challenger_value=new,
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
    )
