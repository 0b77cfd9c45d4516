"""From a completed entity loop's ``output.json`` to a verdict per document (pure: no I/O).

Each worker's ``answerContent`` holds ``{"entities": {"<item id>": [spans]}}`` (the local page posts the
object; the A2I worker template posts the same object as a JSON string in a hidden ``entities`` field).
Per item:

* a gold item scores each worker (their span F1 against the known answer) and is not training data;
* otherwise, when at least two workers whose work is not held gave identical spans: ``agreed``, the
  spans become training data;
* otherwise (they differ, or too few trusted answers): ``disputed`` or ``held``, and the item goes to
  adjudication with every version side by side.

An adjudication loop (``"kind": "adjudication"``) has one answer, the adjudicator's; its spans are final.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from comprehend_al.annotation.agreement import DocumentAgreement, document_agreement
from comprehend_al.annotation.spans import Span, entity_items, parse_answers
from comprehend_al.errors import InvalidRequest

ENTITIES = "entities"
ADJUDICATION = "adjudication"
KINDS = (ENTITIES, ADJUDICATION)
ANSWER_FIELD = "entities"


@dataclass(frozen=True)
class WorkerAnswer:
    worker: str
    spans: dict[str, list[Span]]  # item id → spans
    submitted: str


@dataclass(frozen=True)
class Rejected:
    worker: str
    reason: str


def loop_kind(content: Any) -> str | None:
    kind = content.get("kind") if isinstance(content, dict) else None
    return kind if kind in KINDS else None


def worker_answers(output: Mapping[str, Any]) -> tuple[list[WorkerAnswer], list[Rejected]]:
    """Every worker's answer, checked against the loop's items and types (a bad one is rejected)."""
    content = output.get("inputContent") or {}
    answers: list[WorkerAnswer] = []
    rejected: list[Rejected] = []
    for human in output.get("humanAnswers") or []:
        worker = str(human.get("workerId") or "unknown")
        raw = (human.get("answerContent") or {}).get(ANSWER_FIELD)
        try:
            if isinstance(raw, str):
                raw = json.loads(raw)
            spans = parse_answers(raw, content)
        except (InvalidRequest, ValueError) as err:
            rejected.append(Rejected(worker, str(err)))
            continue
        answers.append(WorkerAnswer(worker, spans, str(human.get("submissionTime", ""))))
    return answers, rejected


@dataclass(frozen=True)
class Verdict:
    item_id: str
    text: str
    decision: str  # agreed | disputed | held | gold | adjudicated
    spans: tuple[Span, ...] = ()  # the accepted spans (agreed, adjudicated)
    versions: dict[str, tuple[Span, ...]] = field(default_factory=dict)  # worker → spans
    held_workers: tuple[str, ...] = ()
    agreement: DocumentAgreement | None = None

    @property
    def accepted(self) -> bool:
        return self.decision in ("agreed", "adjudicated")


def consolidate(
    output: Mapping[str, Any],
    answers: list[WorkerAnswer],
    *,
    is_gold: Callable[[str], bool],
    is_held: Callable[[str], bool],
) -> list[Verdict]:
    """The verdict on every item of an entity loop (see the module's note)."""
    content = output.get("inputContent") or {}
    verdicts = []
    for item_id, item in entity_items(content).items():
        text = str(item.get("text", ""))
        versions = {a.worker: tuple(a.spans[item_id]) for a in answers}
        agreement = document_agreement(item_id, versions) if versions else None
        if is_gold(item_id):
            verdicts.append(Verdict(item_id, text, "gold", versions=versions, agreement=agreement))
            continue
        held = tuple(sorted(w for w in versions if is_held(w)))
        trusted = {w: s for w, s in versions.items() if w not in held}
        if len(trusted) >= 2 and len(set(map(frozenset, trusted.values()))) == 1:
            spans = next(iter(trusted.values()))
            verdicts.append(Verdict(item_id, text, "agreed", spans, versions, held, agreement))
        else:
            decision = "held" if held else "disputed"
            verdicts.append(Verdict(item_id, text, decision, (), versions, held, agreement))
    return verdicts


def adjudication_input(
    loop: str, content: Mapping[str, Any], verdicts: list[Verdict]
) -> dict[str, Any] | None:
    """The input of the adjudication loop for the items that need one (None when every item is settled)."""
    items = [
        {
            "id": v.item_id,
            "text": v.text,
            "entities": [],
            "reason": v.decision,
            "versions": [
                {"worker": w, "held": w in v.held_workers, "entities": [s.as_json() for s in spans]}
                for w, spans in sorted(v.versions.items())
            ],
            "agreement": v.agreement.as_dict() if v.agreement else None,
        }
        for v in verdicts
        if v.decision in ("disputed", "held")
    ]
    if not items:
        return None
    adjudication: dict[str, Any] = {"kind": ADJUDICATION, "sourceLoop": loop, "items": items}
    for key in ("types", "guidelines", "modelVersion"):
        if key in content:
            adjudication[key] = content[key]
    return adjudication


def adjudicated(output: Mapping[str, Any], answers: list[WorkerAnswer]) -> tuple[str, list[Verdict]]:
    """The adjudicator's final spans per item (the latest answer if several were given)."""
    if not answers:
        return "", []
    final = max(answers, key=lambda a: a.submitted)
    content = output.get("inputContent") or {}
    verdicts = []
    for item_id, item in entity_items(content).items():
        versions = {
            str(v.get("worker")): tuple(
                Span(s["BeginOffset"], s["EndOffset"], s["Type"]) for s in v.get("entities", [])
            )
            for v in item.get("versions", [])
            if isinstance(v, dict)
        }
        verdicts.append(
            Verdict(item_id, str(item.get("text", "")), "adjudicated", tuple(final.spans[item_id]), versions)
        )
    return final.worker, verdicts
