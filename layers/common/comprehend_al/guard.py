"""The guard before training: does a new batch agree with the champion as much as its test score predicts?

The champion's test-set score (accuracy for a classifier, entity-level recall for a recognizer) says how
often it agrees with correct labels. A batch labelled the way the test set is labelled should agree about
that often; a batch whose labels moved (a column shifted, two types swapped) agrees far less. One-sided
exact binomial test of H0 "the batch's agreement is at least ``expected - tolerance``" (the tolerance
allows for new data the champion knows less well; ``expected`` is not a cut-off, the test decides):
the batch is held when H0 is rejected at ``1 - confidence``.

The unit of agreement is a row's label (classifier, multi-class), each of a row's gold labels (multi-
label), or each annotated span (entities: the champion finds the same span with the same type). Labels
the champion cannot know (not in its training data) are left out of the test and reported. The report
says which labels moved where and lists the most suspicious units: confident disagreements.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from comprehend_al.stats import binomial_cdf

MIN_UNITS = 20  # fewer scored units than this: no test (reported, never held)
MISSED = "(not found)"


@dataclass(frozen=True)
class Unit:
    """One label decision of the batch, scored by the champion."""

    item: int  # the row's line (classifier) or the document's line (entities), 1-based
    given: str  # the batch's label (or entity type)
    predicted: str | None  # the champion's (None: it predicted nothing for it)
    score: float  # the champion's confidence in its own prediction
    text_hash: str

    @property
    def agrees(self) -> bool:
        return self.predicted == self.given


@dataclass(frozen=True)
class GuardReport:
    held: bool
    reason: str
    units: int
    agreed: int
    expected: float
    tolerance: float
    confidence: float
    p_value: float | None
    moves: dict[str, dict[str, int]]  # given → predicted → count, disagreements only
    per_label: dict[str, dict[str, float | int]]
    suspicious: list[dict[str, Any]]
    unknown_labels: dict[str, int]

    @property
    def agreement(self) -> float:
        return self.agreed / self.units if self.units else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "held": self.held,
            "reason": self.reason,
            "units": self.units,
            "agreed": self.agreed,
            "agreement": round(self.agreement, 4),
            "expected": round(self.expected, 4),
            "tolerance": self.tolerance,
            "confidence": self.confidence,
            "p_value": self.p_value,
            "moves": self.moves,
            "per_label": self.per_label,
            "suspicious": self.suspicious,
            "unknown_labels": self.unknown_labels,
        }

    def summary(self, top: int = 3) -> str:
        """ "BILLING → SHIPPING 38, SHIPPING → TECHNICAL 41": the largest moves."""
        pairs = sorted(
            ((n, given, to) for given, row in self.moves.items() for to, n in row.items()), reverse=True
        )
        return ", ".join(f"{given} → {to} {n}" for n, given, to in pairs[:top])


def assess(
    units: list[Unit],
    *,
    expected: float,
    tolerance: float,
    confidence: float,
    known_labels: set[str] | None,
    suspicious: int = 10,
) -> GuardReport:
    """Test the batch's agreement with the champion (see the module docstring)."""
    unknown = Counter(u.given for u in units if known_labels is not None and u.given not in known_labels)
    tested = [u for u in units if known_labels is None or u.given in known_labels]
    agreed = sum(1 for u in tested if u.agrees)
    moves: dict[str, dict[str, int]] = defaultdict(dict)
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for u in tested:
        per[u.given][0] += 1
        per[u.given][1] += u.agrees
        if not u.agrees:
            to = u.predicted or MISSED
            moves[u.given][to] = moves[u.given].get(to, 0) + 1
    per_label = {
        label: {"units": n, "agreed": a, "agreement": round(a / n, 4)}
        for label, (n, a) in sorted(per.items())
    }
    worst = sorted((u for u in tested if not u.agrees), key=lambda u: -u.score)[:suspicious]
    rows = [
        {
            "line": u.item,
            "given": u.given,
            "champion": u.predicted or MISSED,
            "score": round(u.score, 4),
            "text_hash": u.text_hash,
        }
        for u in worst
    ]
    floor = max(0.0, expected - tolerance)
    p_value: float | None = None
    if len(tested) < MIN_UNITS:
        held, reason = False, f"{len(tested)} scored label(s): too few to test (at least {MIN_UNITS})"
    else:
        p_value = binomial_cdf(agreed, len(tested), floor)
        held = p_value < 1.0 - confidence
        verdict = "far below: suspected label shift" if held else "consistent with it"
        reason = (
            f"agreement with the champion {agreed}/{len(tested)} = {agreed / len(tested):.2f} where its test "
            f"score predicts {expected:.2f} (at least {floor:.2f} with tolerance {tolerance:.2f}); "
            f"one-sided binomial p = {p_value:.3g}: {verdict}"
        )
    report = GuardReport(
        held=held,
        reason=reason,
        units=len(tested),
        agreed=agreed,
        expected=expected,
        tolerance=tolerance,
        confidence=confidence,
        p_value=None if p_value is None else _storable(p_value),
        moves={k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in sorted(moves.items())},
        per_label=per_label,
        suspicious=rows,
        unknown_labels=dict(sorted(unknown.items())),
    )
    if held and report.moves:
        return _with_reason(report, f"{reason} ({report.summary()})")
    return report


def _storable(p: float) -> float:
    """A p-value DynamoDB can hold (its numbers stop at 1e-130): tinier ones are reported as 0."""
    return 0.0 if p < 1e-100 else float(f"{p:.6g}")


def _with_reason(report: GuardReport, reason: str) -> GuardReport:
    from dataclasses import replace

    return replace(report, reason=reason)


def sample(count: int, limit: int, seed: str) -> list[int]:
    """Up to ``limit`` of ``range(count)``, chosen at random (seeded: the same batch, the same rows)."""
    if count <= limit:
        return list(range(count))
    return sorted(random.Random(seed).sample(range(count), limit))


Classify = Callable[[str], list[tuple[str, float]]]  # text → (label, score), best first
Detect = Callable[[str], list[tuple[int, int, str, float]]]  # text → (begin, end, type, score)
