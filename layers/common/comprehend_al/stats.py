"""Exact tests in pure Python (the layer has no numpy/scipy): binomial tails, McNemar, paired bootstrap.

* :func:`binomial_cdf` — P(X ≤ k) for X ~ Binomial(n, p), summed in log space (exact to float precision).
* :func:`mcnemar` — the exact (binomial) McNemar test on paired per-document correctness: of the documents
  the two models disagree on, how many each gets right; two-sided p-value.
* :func:`paired_bootstrap` — a percentile interval of ``statistic(challenger) - statistic(champion)`` over
  resamples of the same test documents (the pairs are resampled together), seeded, so a decision can be
  repeated exactly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        for i in range(k + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * math.fsum(math.exp(t - top) for t in terms))


@dataclass(frozen=True)
class McNemar:
    challenger_only: int  # documents only the challenger gets right
    champion_only: int  # documents only the champion gets right
    p_value: float  # two-sided, exact

    def as_dict(self) -> dict[str, float | int]:
        return {
            "challenger_only": self.challenger_only,
            "champion_only": self.champion_only,
            "p_value": round(self.p_value, 6),
        }


def mcnemar(challenger: Sequence[bool], champion: Sequence[bool]) -> McNemar:
    """Exact McNemar test on the same documents (``challenger[i]``: document *i* right or wrong)."""
    if len(challenger) != len(champion):
        raise ValueError(f"{len(challenger)} vs {len(champion)} documents: not paired")
    b = sum(1 for new, old in zip(challenger, champion, strict=True) if new and not old)
    c = sum(1 for new, old in zip(challenger, champion, strict=True) if old and not new)
    p = 1.0 if b + c == 0 else min(1.0, 2.0 * binomial_cdf(min(b, c), b + c, 0.5))
    return McNemar(b, c, p)


@dataclass(frozen=True)
class Interval:
    difference: float  # on the full test set
    low: float
    high: float
    confidence: float
    resamples: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "difference": round(self.difference, 6),
            "low": round(self.low, 6),
            "high": round(self.high, 6),
            "confidence": self.confidence,
            "resamples": self.resamples,
        }


def paired_bootstrap(
    documents: int,
    difference: Callable[[Sequence[int] | None], float],
    *,
    confidence: float,
    resamples: int,
    seed: str,
) -> Interval:
    """Percentile interval of ``difference(indices)`` over ``resamples`` resamples of the document indices.

    ``difference(None)`` is the value on every document; ``difference(indices)`` on a resample (with
    repetition). Both models are scored on the same resampled documents, so the interval is paired.
    """
    if not 0.5 <= confidence < 1.0:
        raise ValueError(f"confidence must be in [0.5, 1), not {confidence}")
    if documents < 1 or resamples < 1:
        raise ValueError("a bootstrap needs documents and resamples")
    rng = random.Random(seed)
    population = range(documents)
    values = sorted(difference(rng.choices(population, k=documents)) for _ in range(resamples))
    tail = (1.0 - confidence) / 2.0
    low = values[max(0, math.floor(tail * resamples))]
    high = values[min(resamples - 1, math.ceil((1.0 - tail) * resamples) - 1)]
    return Interval(difference(None), low, high, confidence, resamples)
