"""Per-document outcomes of a model on the fixed test set: what a paired comparison of two models needs.

For each test document: whether the model got it exactly right, and per label (class or entity type) its
true positives, false positives and false negatives. Every selection metric can be recomputed from these
on any subset or resample of the documents, with the conventions of :mod:`comprehend_al.metrics` and
:mod:`comprehend_al.entity_metrics`:

* classifier (``averaging="macro"``): Precision / Recall / F1Score are macro averages over the labels
  seen (gold or predicted) in the documents scored; Accuracy is the share of documents exactly right
  (multi-class: top class = gold; multi-label: the predicted set = the gold set);
* entity recognizer (``averaging="micro"``): entity-level micro Precision / Recall / F1Score; Accuracy is
  F1Score (entities have no accuracy), a document is right when its predicted spans equal the gold ones.

Stored as JSON beside the test set (``datasets/<kind>/test/<test version>/outcomes/<model version>.json``),
so the champion's stay comparable for as long as the test set does (job output expires after 90 days).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Counts = tuple[tuple[int, int, int, int], ...]  # (label index, tp, fp, fn)


@dataclass(frozen=True)
class Outcomes:
    labels: list[str]
    correct: list[bool]  # per document
    counts: list[Counts]  # per document
    averaging: Literal["macro", "micro"]

    def __len__(self) -> int:
        return len(self.correct)

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "averaging": self.averaging,
            "documents": [
                [int(c), [list(x) for x in counts]]
                for c, counts in zip(self.correct, self.counts, strict=True)
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcomes:
        docs = data["documents"]
        return cls(
            labels=list(data["labels"]),
            correct=[bool(d[0]) for d in docs],
            counts=[tuple((int(a), int(b), int(c), int(e)) for a, b, c, e in d[1]) for d in docs],
            averaging=data["averaging"],
        )

    # --- metrics ---------------------------------------------------------------------------------------
    def totals(self, indices: Iterable[int] | None = None) -> dict[str, list[int]]:
        """label → [tp, fp, fn] summed over ``indices`` (every document when ``None``)."""
        sums: dict[int, list[int]] = {}
        for i in range(len(self)) if indices is None else indices:
            for label, tp, fp, fn in self.counts[i]:
                row = sums.setdefault(label, [0, 0, 0])
                row[0] += tp
                row[1] += fp
                row[2] += fn
        return {self.labels[k]: v for k, v in sums.items()}

    def metric(self, name: str, indices: Sequence[int] | None = None) -> float:
        totals = self.totals(indices).values()
        seen = [t for t in totals if sum(t) > 0]
        if self.averaging == "micro":
            tp, fp, fn = (sum(t[i] for t in seen) for i in range(3))
            precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
            f1 = _ratio(2 * tp, 2 * tp + fp + fn)
            return {"Precision": precision, "Recall": recall, "F1Score": f1, "Accuracy": f1}[name]
        if name == "Accuracy":
            chosen = range(len(self)) if indices is None else indices
            n = len(chosen)
            return _ratio(sum(1 for i in chosen if self.correct[i]), n)
        per = {
            "Precision": [_ratio(tp, tp + fp) for tp, fp, _ in seen],
            "Recall": [_ratio(tp, tp + fn) for tp, _, fn in seen],
            "F1Score": [_ratio(2 * tp, 2 * tp + fp + fn) for tp, fp, fn in seen],
        }[name]
        return math.fsum(per) / len(per) if per else 0.0

    def recall_by_label(self) -> dict[str, tuple[float, int]]:
        """label → (recall, gold count) on every document."""
        return {
            label: (_ratio(tp, tp + fn), tp + fn) for label, (tp, _, fn) in self.totals().items() if tp + fn
        }


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def from_sets(
    gold: Sequence[Iterable[Any]],
    predicted: Sequence[Iterable[Any]],
    *,
    averaging: Literal["macro", "micro"],
    label_of: Any = None,
) -> Outcomes:
    """Outcomes from per-document gold and predicted items (labels, or entity spans whose label is
    ``label_of(item)``)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold documents, {len(predicted)} predicted")
    key = label_of or (lambda item: item)
    index: dict[str, int] = {}
    labels: list[str] = []
    correct: list[bool] = []
    counts: list[Counts] = []
    for g_items, p_items in zip(gold, predicted, strict=True):
        g, p = set(g_items), set(p_items)
        tally: Counter[tuple[str, int]] = Counter()
        for item in g & p:
            tally[(key(item), 0)] += 1
        for item in p - g:
            tally[(key(item), 1)] += 1
        for item in g - p:
            tally[(key(item), 2)] += 1
        per: dict[int, list[int]] = {}
        for (label, slot), n in tally.items():
            if label not in index:
                index[label] = len(labels)
                labels.append(label)
            per.setdefault(index[label], [0, 0, 0])[slot] += n
        correct.append(g == p)
        counts.append(tuple((k, *v) for k, v in sorted(per.items())))  # type: ignore[misc]
    return Outcomes(labels, correct, counts, averaging)
