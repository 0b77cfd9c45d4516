"""Quality control with gold documents: known answers mixed into the queue, each annotator scored on them.

A gold document is stored at ``annotation/gold/<id>.json`` as ``{"id", "text", "entities", "answer"}``:
``entities`` is what the page pre-fills (the model's spans, as for any document), ``answer`` the known
spans, which never leave the server (the loop input holds only id, text and entities, so a worker cannot
tell a gold item from another). :func:`mix_gold` adds gold items to a loop's items.

An annotator's gold accuracy is the mean span F1 of their answers on gold documents. Below
``threshold`` (after at least ``min_gold`` gold answers) their work is held: their answers no longer
count as agreement, and the documents they annotated go to adjudication.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from comprehend_al.annotation.agreement import span_f1
from comprehend_al.annotation.spans import Span, parse_spans
from comprehend_al.annotation.store import ANNOTATORS, GOLD, Objects, keys, read_json, safe_part, write_json

DEFAULT_THRESHOLD = 0.8
DEFAULT_MIN_GOLD = 2
LOOPS_KEPT = 500


@dataclass(frozen=True)
class GoldDocument:
    id: str
    text: str
    entities: tuple[dict[str, Any], ...]
    answer: tuple[Span, ...]

    def as_item(self) -> dict[str, Any]:
        """The loop input item: like any other document (the answer stays on the server)."""
        return {"id": self.id, "text": self.text, "entities": list(self.entities)}


class GoldSet:
    def __init__(self, objects: Objects) -> None:
        self.objects = objects

    def add(
        self,
        item_id: str,
        text: str,
        answer: Sequence[dict[str, Any]],
        entities: Sequence[dict[str, Any]] = (),
    ) -> None:
        spans = parse_spans(list(answer), text, item=f"gold {item_id}")
        write_json(
            self.objects,
            f"{GOLD}{safe_part(item_id)}.json",
            {"id": item_id, "text": text, "entities": list(entities), "answer": [s.as_json() for s in spans]},
        )

    def get(self, item_id: str) -> GoldDocument | None:
        raw = read_json(self.objects, f"{GOLD}{safe_part(item_id)}.json")
        if raw is None or raw.get("id") != item_id:
            return None
        return GoldDocument(
            raw["id"],
            raw["text"],
            tuple(raw.get("entities", [])),
            tuple(parse_spans(raw["answer"], raw["text"])),
        )

    def ids(self) -> set[str]:
        """The gold documents' ids, listed (a GET of a missing key is refused without s3:ListBucket)."""
        return {key[len(GOLD) : -len(".json")] for key in keys(self.objects, GOLD) if key.endswith(".json")}

    def all(self) -> list[GoldDocument]:
        found = (self.get(item_id) for item_id in sorted(self.ids()))
        return [g for g in found if g is not None]


def mix_gold(
    items: list[dict[str, Any]], gold: Sequence[GoldDocument], count: int, *, seed: int | None = None
) -> list[dict[str, Any]]:
    """``items`` with ``count`` gold items inserted at random places (the order hides which is which)."""
    rng = random.Random(seed)
    mixed = list(items)
    for document in rng.sample(list(gold), min(count, len(gold))):
        mixed.insert(rng.randint(0, len(mixed)), document.as_item())
    return mixed


@dataclass
class AnnotatorRecord:
    """One annotator's running figures: gold answers and the sum of their span F1; documents annotated."""

    worker: str
    gold_answers: int = 0
    gold_f1_sum: float = 0.0
    documents: int = 0
    loops: list[str] = field(default_factory=list)  # the latest loops counted (a retried event counts once)
    shared: int = 0  # documents also annotated by someone else
    agreement_f1_sum: float = 0.0  # span F1 against the co-annotators, summed over shared documents
    agreement_kappa_sum: float = 0.0

    @property
    def agreement(self) -> tuple[float | None, float | None]:
        """Mean span F1 and kappa against co-annotators (None before a shared document)."""
        if not self.shared:
            return None, None
        return self.agreement_f1_sum / self.shared, self.agreement_kappa_sum / self.shared

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_f1_sum / self.gold_answers if self.gold_answers else None

    def held(self, threshold: float = DEFAULT_THRESHOLD, min_gold: int = DEFAULT_MIN_GOLD) -> bool:
        accuracy = self.gold_accuracy
        return accuracy is not None and self.gold_answers >= min_gold and accuracy < threshold

    def score(self, answer: Sequence[Span], gold: GoldDocument) -> float:
        f1 = span_f1(answer, gold.answer)
        self.gold_answers += 1
        self.gold_f1_sum += f1
        return f1

    def as_dict(self) -> dict[str, Any]:
        accuracy = self.gold_accuracy
        f1, kappa = self.agreement
        return {
            "worker": self.worker,
            "shared": self.shared,
            "agreement_f1_sum": self.agreement_f1_sum,
            "agreement_kappa_sum": self.agreement_kappa_sum,
            "agreement_f1": None if f1 is None else round(f1, 4),
            "agreement_kappa": None if kappa is None else round(kappa, 4),
            "gold_answers": self.gold_answers,
            "gold_f1_sum": self.gold_f1_sum,
            "gold_accuracy": None if accuracy is None else round(accuracy, 4),
            "documents": self.documents,
            "loops": self.loops[-LOOPS_KEPT:],
        }


class Annotators:
    """The annotators' records in S3."""

    def __init__(self, objects: Objects) -> None:
        self.objects = objects

    def known(self) -> set[str]:
        """The keys of the records that exist (listed once, so a new worker costs no refused GET)."""
        return set(keys(self.objects, ANNOTATORS))

    def get(self, worker: str, known: set[str] | None = None) -> AnnotatorRecord:
        key = f"{ANNOTATORS}{safe_part(worker)}.json"
        raw = read_json(self.objects, key) if known is None or key in known else None
        raw = raw or {}
        return AnnotatorRecord(
            worker,
            int(raw.get("gold_answers", 0)),
            float(raw.get("gold_f1_sum", 0.0)),
            int(raw.get("documents", 0)),
            [str(loop) for loop in raw.get("loops", [])],
            int(raw.get("shared", 0)),
            float(raw.get("agreement_f1_sum", 0.0)),
            float(raw.get("agreement_kappa_sum", 0.0)),
        )

    def put(self, record: AnnotatorRecord) -> None:
        write_json(self.objects, f"{ANNOTATORS}{safe_part(record.worker)}.json", record.as_dict())

    def all(self) -> list[AnnotatorRecord]:
        return [
            self.get(str((read_json(self.objects, key) or {}).get("worker", "")))
            for key in keys(self.objects, ANNOTATORS)
        ]
