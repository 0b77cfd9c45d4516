"""Per-annotator figures of a set of completed entity loops (for reports and the entity loop's demo).

``report(outputs, gold=...)``: ``outputs`` are ``output.json`` documents of entity loops (each with every
worker's answer); ``gold`` maps a gold item id to its known spans (or is a :class:`GoldSet`). Returns::

    {"documents": n, "agreed": n, "disputed": n, "held": n, "gold": n,
     "span_f1": mean, "kappa": mean,                     # per document, over annotator pairs
     "annotators": {"<worker>": {"documents": n, "span_f1": x, "kappa": x,
                                  "gold_answers": n, "gold_accuracy": x | None, "held": bool}}}

Held = gold accuracy below ``threshold`` after at least ``min_gold`` gold answers, as
:mod:`comprehend_al.annotation.process` decides it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from comprehend_al.annotation.agreement import annotator_agreement
from comprehend_al.annotation.consolidate import consolidate, worker_answers
from comprehend_al.annotation.gold import (
    DEFAULT_MIN_GOLD,
    DEFAULT_THRESHOLD,
    AnnotatorRecord,
    GoldDocument,
    GoldSet,
)
from comprehend_al.annotation.spans import Span


def report(
    outputs: Iterable[Mapping[str, Any]],
    *,
    gold: GoldSet | Mapping[str, Sequence[Span]] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    min_gold: int = DEFAULT_MIN_GOLD,
) -> dict[str, Any]:
    known = _gold_answers(gold)
    records: dict[str, AnnotatorRecord] = {}
    shared: list[dict[str, list[Span]]] = []
    counts = {"documents": 0, "agreed": 0, "disputed": 0, "held": 0, "gold": 0}
    f1s: list[float] = []
    kappas: list[float] = []
    for output in outputs:
        answers, _ = worker_answers(output)
        for answer in answers:
            record = records.setdefault(answer.worker, AnnotatorRecord(answer.worker))
            for item_id, spans in answer.spans.items():
                if item_id in known:
                    record.score(spans, GoldDocument(item_id, "", (), tuple(known[item_id])))
                else:
                    record.documents += 1
        verdicts = consolidate(
            output,
            answers,
            is_gold=lambda item_id: item_id in known,
            is_held=lambda worker: records[worker].held(threshold, min_gold),
        )
        for v in verdicts:
            counts[v.decision] += 1
            if v.decision == "gold":
                continue
            counts["documents"] += 1
            shared.append({w: list(s) for w, s in v.versions.items()})
            if v.agreement is not None and len(v.versions) > 1:
                f1s.append(v.agreement.span_f1)
                kappas.append(v.agreement.kappa)
    agreement = annotator_agreement(shared)
    annotators = {}
    for worker, record in sorted(records.items()):
        figures = agreement.get(worker)
        accuracy = record.gold_accuracy
        annotators[worker] = {
            "documents": record.documents,
            "span_f1": round(figures.span_f1, 4) if figures else None,
            "kappa": round(figures.kappa, 4) if figures else None,
            "gold_answers": record.gold_answers,
            "gold_accuracy": None if accuracy is None else round(accuracy, 4),
            "held": record.held(threshold, min_gold),
        }
    return {
        **counts,
        "span_f1": round(sum(f1s) / len(f1s), 4) if f1s else None,
        "kappa": round(sum(kappas) / len(kappas), 4) if kappas else None,
        "annotators": annotators,
    }


def _gold_answers(gold: GoldSet | Mapping[str, Sequence[Span]] | None) -> dict[str, Sequence[Span]]:
    if gold is None:
        return {}
    if isinstance(gold, GoldSet):
        return {document.id: document.answer for document in gold.all()}
    return {item_id: [Span(*s) for s in spans] for item_id, spans in gold.items()}
