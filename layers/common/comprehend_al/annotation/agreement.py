"""Agreement between annotators: span-level F1 and Cohen's kappa on types.

* Span F1 between two annotations of one document: a span counts as shared when both give the same
  offsets AND type (exact match, as Comprehend's own evaluation counts entities). F1 = 2·shared /
  (spans of A + spans of B); two empty annotations agree fully (1.0).
* Cohen's kappa on types: the units are the span positions (offsets) either annotator marked; each
  annotator's category for a unit is the type given there, or ``O`` when they marked nothing there.
  kappa = (p_o - p_e) / (1 - p_e) with p_e from each annotator's own category frequencies (as
  scikit-learn's ``cohen_kappa_score``). When p_e = 1 (one category used by both throughout) kappa is 1.0
  if they agree on every unit, else 0.0; with no unit at all (both found nothing) it is 1.0.

Per document the two figures compare every pair of annotators (mean over pairs); per annotator they are
the mean over the documents they annotated, against the others who annotated the same document.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from comprehend_al.annotation.spans import Span

NONE = "O"


def span_f1(a: Iterable[Span], b: Iterable[Span]) -> float:
    first, second = set(a), set(b)
    if not first and not second:
        return 1.0
    return 2 * len(first & second) / (len(first) + len(second))


def type_units(a: Iterable[Span], b: Iterable[Span]) -> tuple[list[str], list[str]]:
    """The category each annotator gave to each span position either of them marked, in offset order."""
    left = {(s.begin, s.end): s.type for s in a}
    right = {(s.begin, s.end): s.type for s in b}
    units = sorted(set(left) | set(right))
    return [left.get(u, NONE) for u in units], [right.get(u, NONE) for u in units]


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float:
    """Cohen's kappa of two equally long sequences of categories (see the module's note on p_e = 1)."""
    if len(first) != len(second):
        raise ValueError("kappa needs two ratings of the same units")
    n = len(first)
    if n == 0:
        return 1.0
    observed = sum(x == y for x, y in zip(first, second, strict=True)) / n
    left, right = Counter(first), Counter(second)
    expected = sum(left[c] * right[c] for c in set(left) | set(right)) / (n * n)
    if expected >= 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


def type_kappa(a: Iterable[Span], b: Iterable[Span]) -> float:
    return cohen_kappa(*type_units(a, b))


@dataclass(frozen=True)
class DocumentAgreement:
    """Agreement on one document: mean span F1 and kappa over annotator pairs; ``agreed``: all identical."""

    item_id: str
    workers: tuple[str, ...]
    span_f1: float
    kappa: float
    agreed: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "item": self.item_id,
            "workers": list(self.workers),
            "span_f1": round(self.span_f1, 4),
            "kappa": round(self.kappa, 4),
            "agreed": self.agreed,
        }


def document_agreement(item_id: str, answers: Mapping[str, Sequence[Span]]) -> DocumentAgreement:
    """Agreement of the workers who annotated one document (``answers``: worker → spans)."""
    workers = tuple(sorted(answers))
    pairs = list(combinations(workers, 2))
    if not pairs:
        return DocumentAgreement(item_id, workers, 1.0, 1.0, True)
    f1 = sum(span_f1(answers[x], answers[y]) for x, y in pairs) / len(pairs)
    kappa = sum(type_kappa(answers[x], answers[y]) for x, y in pairs) / len(pairs)
    agreed = len({frozenset(answers[w]) for w in workers}) == 1
    return DocumentAgreement(item_id, workers, f1, kappa, agreed)


@dataclass(frozen=True)
class AnnotatorAgreement:
    worker: str
    documents: int
    span_f1: float  # mean over documents, against the co-annotators of each
    kappa: float

    def as_dict(self) -> dict[str, object]:
        return {
            "worker": self.worker,
            "documents": self.documents,
            "span_f1": round(self.span_f1, 4),
            "kappa": round(self.kappa, 4),
        }


def annotator_agreement(documents: Iterable[Mapping[str, Sequence[Span]]]) -> dict[str, AnnotatorAgreement]:
    """Per worker: mean F1 and kappa against the others, over the documents they shared with someone."""
    f1s: dict[str, list[float]] = defaultdict(list)
    kappas: dict[str, list[float]] = defaultdict(list)
    for answers in documents:
        for worker in answers:
            others = [o for o in answers if o != worker]
            if not others:
                continue
            f1s[worker].append(sum(span_f1(answers[worker], answers[o]) for o in others) / len(others))
            kappas[worker].append(sum(type_kappa(answers[worker], answers[o]) for o in others) / len(others))
    return {
        worker: AnnotatorAgreement(
            worker,
            len(f1s[worker]),
            sum(f1s[worker]) / len(f1s[worker]),
            sum(kappas[worker]) / len(kappas[worker]),
        )
        for worker in sorted(f1s)
    }
