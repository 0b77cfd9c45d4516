"""Drift: how far live predictions have moved from what the active model did on its fixed test set.

A :class:`Profile` summarises a set of predictions with counts only (no text): predicted-label counts, a
histogram of the top score, a histogram of text length (characters, power-of-two bins) and token counts
for the out-of-vocabulary share. The *baseline* is the profile of the model's own test-job predictions,
taken when the model is evaluated (:func:`baseline_profile`); the *live* profile adds up the counters
``/classify`` keeps per hour (:mod:`comprehend_al.store.live_stats`). :func:`compare` turns the two into a
:class:`DriftReport`.

Measures (both symmetric in spirit, both 0 for identical distributions):

* PSI, population stability index: ``sum((live - base) * ln(live / base))`` over the bins, with every
  proportion smoothed by half a count (a bin empty on one side would otherwise be infinite). Usual reading:
  < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 significant. The alarm's default threshold is 0.2.
* Jensen-Shannon divergence (base 2, between 0 and 1) of the predicted-label distributions, reported
  beside PSI because it stays bounded when a label appears that the baseline never predicted.

``DriftScore`` is the larger of the label and confidence PSIs: one figure for one alarm.
The vocabulary for the OOV share is the test set's tokens seen in at least two of its documents, so the
test set's own OOV share (the baseline) counts the tokens seen once: a Good-Turing estimate of the chance
that an in-distribution text brings a word the vocabulary lacks.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, Field

CONFIDENCE_BINS = 20  # histogram of the top score, 0.05 wide; PSI is taken over pairs (0.1 wide)
LENGTH_BINS = 10  # [0, 16), [16, 32), ... [4096, inf) characters
VOCABULARY_SIZE = 2000  # most frequent tokens kept (a registry item stays small)
SMOOTHING = 0.5  # pseudo-count per bin
MOVED_RATIO = 1.5  # a label "moved" when its live share is 1.5x its baseline share or 1/1.5 of it
MIN_MOVED_SHARE = 0.02  # ... and one of the two shares is at least this
TOKEN = re.compile(r"[^\W\d_]+")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def confidence_bin(score: float) -> int:
    return min(CONFIDENCE_BINS - 1, max(0, int(score * CONFIDENCE_BINS)))


def length_bin(characters: int) -> int:
    return min(LENGTH_BINS - 1, max(0, characters.bit_length() - 4))


class Profile(BaseModel):
    """Counts that describe a set of predictions (a baseline or a live window)."""

    predictions: int = 0
    labels: dict[str, int] = Field(default_factory=dict)
    confidence: list[int] = Field(default_factory=lambda: [0] * CONFIDENCE_BINS)
    length: list[int] = Field(default_factory=lambda: [0] * LENGTH_BINS)
    characters: int = 0
    tokens: int = 0
    oov_tokens: int = 0
    vocabulary: list[str] = Field(default_factory=list)  # the baseline's only

    def low_confidence_rate(self, threshold: float) -> float:
        cut = round(threshold * CONFIDENCE_BINS)
        return sum(self.confidence[:cut]) / self.predictions if self.predictions else 0.0

    @property
    def oov_share(self) -> float | None:
        return self.oov_tokens / self.tokens if self.tokens else None

    @property
    def mean_length(self) -> float | None:
        return self.characters / self.predictions if self.predictions else None


def baseline_profile(top: Sequence[tuple[str, float]], texts: Sequence[str]) -> Profile:
    """The profile of a test job: ``top`` = (predicted label, its score) per document, ``texts`` the
    documents (lengths and vocabulary; the text itself is not kept)."""
    labels = Counter(label for label, _ in top)
    confidence = [0] * CONFIDENCE_BINS
    for _, score in top:
        confidence[confidence_bin(score)] += 1
    length = [0] * LENGTH_BINS
    document_frequency: Counter[str] = Counter()
    frequency: Counter[str] = Counter()
    for text in texts:
        length[length_bin(len(text))] += 1
        words = tokens(text)
        frequency.update(words)
        document_frequency.update(set(words))
    seen_twice = [word for word, _ in frequency.most_common() if document_frequency[word] >= 2]
    vocabulary = set(seen_twice[:VOCABULARY_SIZE])
    total = sum(frequency.values())
    return Profile(
        predictions=len(top),
        labels=dict(labels),
        confidence=confidence,
        length=length,
        characters=sum(len(t) for t in texts),
        tokens=total,
        oov_tokens=sum(n for word, n in frequency.items() if word not in vocabulary),
        vocabulary=sorted(vocabulary),
    )


def oov_count(words: Iterable[str], vocabulary: set[str]) -> int:
    return sum(1 for word in words if word not in vocabulary)


# --- measures ------------------------------------------------------------------------------------------
def _proportions(counts: Sequence[float]) -> list[float]:
    total = sum(counts) + SMOOTHING * len(counts)
    return [(c + SMOOTHING) / total for c in counts]


def psi(baseline: Sequence[float], live: Sequence[float]) -> float:
    base, now = _proportions(baseline), _proportions(live)
    return sum((n - b) * math.log(n / b) for b, n in zip(base, now, strict=True))


def jensen_shannon(baseline: Sequence[float], live: Sequence[float]) -> float:
    def share(counts: Sequence[float]) -> list[float]:
        total = sum(counts)
        return [c / total for c in counts] if total else [0.0] * len(counts)

    p, q = share(baseline), share(live)
    mean = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(x: list[float]) -> float:
        return sum(a * math.log2(a / m) for a, m in zip(x, mean, strict=True) if a > 0)

    return max(0.0, (kl(p) + kl(q)) / 2)


def _pairs(histogram: Sequence[int]) -> list[int]:
    return [histogram[i] + histogram[i + 1] for i in range(0, len(histogram) - 1, 2)]


class LabelShift(BaseModel):
    label: str
    baseline_share: float
    live_share: float
    psi_part: float  # this label's term of the label PSI


class DriftReport(BaseModel):
    predictions: int  # live predictions in the window
    enough: bool  # at least the minimum: below it the figures are shown, not published
    label_psi: float
    label_js: float
    confidence_psi: float
    length_psi: float
    drift_score: float  # max(label_psi, confidence_psi)
    low_confidence_rate: float
    baseline_low_confidence_rate: float
    oov_share: float | None
    baseline_oov_share: float | None
    mean_length: float | None
    baseline_mean_length: float | None
    labels: list[LabelShift]  # every label, largest PSI term first
    moved: list[str]  # labels whose share moved (MOVED_RATIO), largest PSI term first
    confidence: list[int]  # live histogram (CONFIDENCE_BINS)
    baseline_confidence: list[int]


def compare(
    baseline: Profile, live: Profile, *, low_confidence: float = 0.5, min_predictions: int = 50
) -> DriftReport:
    names = sorted(set(baseline.labels) | set(live.labels))
    base_counts = [baseline.labels.get(n, 0) for n in names]
    live_counts = [live.labels.get(n, 0) for n in names]
    base_p, live_p = _proportions(base_counts), _proportions(live_counts)
    shifts = sorted(
        (
            LabelShift(
                label=name,
                baseline_share=b / baseline.predictions if baseline.predictions else 0.0,
                live_share=n / live.predictions if live.predictions else 0.0,
                psi_part=(lp - bp) * math.log(lp / bp),
            )
            for name, b, n, bp, lp in zip(names, base_counts, live_counts, base_p, live_p, strict=True)
        ),
        key=lambda s: (-s.psi_part, s.label),
    )
    label_psi = sum(s.psi_part for s in shifts)
    confidence_psi = psi(_pairs(baseline.confidence), _pairs(live.confidence))
    return DriftReport(
        predictions=live.predictions,
        enough=live.predictions >= min_predictions,
        label_psi=label_psi,
        label_js=jensen_shannon(base_counts, live_counts),
        confidence_psi=confidence_psi,
        length_psi=psi(baseline.length, live.length),
        drift_score=max(label_psi, confidence_psi),
        low_confidence_rate=live.low_confidence_rate(low_confidence),
        baseline_low_confidence_rate=baseline.low_confidence_rate(low_confidence),
        oov_share=live.oov_share,
        baseline_oov_share=baseline.oov_share,
        mean_length=live.mean_length,
        baseline_mean_length=baseline.mean_length,
        labels=shifts,
        moved=[s.label for s in shifts if _moved(s)],
        confidence=live.confidence,
        baseline_confidence=baseline.confidence,
    )


def _moved(shift: LabelShift) -> bool:
    high, low = max(shift.live_share, shift.baseline_share), min(shift.live_share, shift.baseline_share)
    return high >= MIN_MOVED_SHARE and (low == 0 or high / low >= MOVED_RATIO)


def add(profiles: Iterable[Mapping[str, object]]) -> Profile:
    """Live profile: the sum of hourly counter items (see :mod:`comprehend_al.store.live_stats`)."""
    total = Profile()
    for item in profiles:
        total = _plus(total, item)
    return total


def _plus(total: Profile, item: Mapping[str, object]) -> Profile:
    def number(key: str) -> int:
        value = item.get(key, 0)
        return int(value) if isinstance(value, int | float | str) else 0

    labels = dict(total.labels)
    for key in item:
        if key.startswith("label:"):
            labels[key[6:]] = labels.get(key[6:], 0) + number(key)
    return Profile(
        predictions=total.predictions + number("predictions"),
        labels=labels,
        confidence=[c + number(f"confidence:{i}") for i, c in enumerate(total.confidence)],
        length=[c + number(f"length:{i}") for i, c in enumerate(total.length)],
        characters=total.characters + number("characters"),
        tokens=total.tokens + number("tokens"),
        oov_tokens=total.oov_tokens + number("oov_tokens"),
    )
