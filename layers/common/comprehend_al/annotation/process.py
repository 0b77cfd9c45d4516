"""ProcessReview for annotation loops: a completed entity or adjudication loop → verdicts, QC, training data.

Entity loop: every worker's answer is audited; gold items score their workers (``annotation/annotators/``);
agreeing documents are accepted; disputed documents, and those whose agreement rests on held work, go to
ONE adjudication loop (started on the flow ``annotation-flow-definition-arn``, else the review flow).
Adjudication loop: the adjudicator's spans are accepted. Then, when ``annotation-batch-size`` accepted
documents wait, they leave as one entity batch under ``train/new/`` (:mod:`comprehend_al.annotation.batch`).

SSM parameters (under the stack's prefix): ``annotation-gold-threshold`` (0.8), ``annotation-min-gold`` (2),
``annotation-batch-size`` (20), ``annotation-flow-definition-arn``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from comprehend_al.annotation import batch
from comprehend_al.annotation.agreement import annotator_agreement
from comprehend_al.annotation.audit import AuditEvent, AuditLog, now_iso
from comprehend_al.annotation.consolidate import (
    ADJUDICATION,
    Verdict,
    adjudicated,
    adjudication_input,
    consolidate,
    loop_kind,
    worker_answers,
)
from comprehend_al.annotation.gold import (
    DEFAULT_MIN_GOLD,
    DEFAULT_THRESHOLD,
    AnnotatorRecord,
    Annotators,
    GoldSet,
)
from comprehend_al.annotation.spans import spans_json
from comprehend_al.annotation.store import Objects
from comprehend_al.errors import InvalidRequest, ResourceInUse
from comprehend_al.observability import logger

GOLD_THRESHOLD = "annotation-gold-threshold"
MIN_GOLD = "annotation-min-gold"
BATCH_SIZE = "annotation-batch-size"
FLOW = "annotation-flow-definition-arn"
REVIEW_FLOW = "review-flow-definition-arn"
DEFAULT_BATCH_SIZE = 20


class Parameters(Protocol):
    def get(self, relative: str) -> str | None: ...


class LoopStarter(Protocol):
    def start(self, name: str, flow_definition_arn: str, content: dict[str, Any]) -> str: ...


@dataclass
class AnnotationDeps:
    objects: Objects
    params: Parameters
    review: LoopStarter
    upload_prefix: str = "train/new/"

    def number(self, name: str, default: float) -> float:
        raw = self.params.get(name)
        try:
            return float(raw) if raw is not None else default
        except ValueError:
            return default


@dataclass(frozen=True)
class AnnotationProcessed:
    human_loop_name: str
    kind: str
    accepted: int
    disputed: int
    gold: int
    rejected: int
    adjudication_loop: str | None
    batch: batch.BatchResult

    def as_dict(self) -> dict[str, Any]:
        return {
            "human_loop_name": self.human_loop_name,
            "kind": self.kind,
            "accepted": self.accepted,
            "disputed": self.disputed,
            "gold": self.gold,
            "rejected": self.rejected,
            "adjudication_loop": self.adjudication_loop,
            "batch": self.batch.as_dict(),
        }


def adjudication_name(loop: str) -> str:
    return ("adj-" + loop)[:63].rstrip("-")


def process_annotation(name: str, output: Mapping[str, Any], deps: AnnotationDeps) -> AnnotationProcessed:
    content = output.get("inputContent") or {}
    kind = loop_kind(content) or "entities"
    audit = AuditLog(deps.objects)
    answers, rejected = worker_answers(output)
    for bad in rejected:
        audit.record(AuditEvent("rejected", name, "*", bad.worker, details={"reason": bad.reason}))
    for answer in answers:
        for item_id, spans in answer.spans.items():
            audit.record(
                AuditEvent(
                    "annotated" if kind != ADJUDICATION else "adjudicated",
                    name,
                    item_id,
                    answer.worker,
                    at=answer.submitted or now_iso(),
                    details={"before": _prefilled(content, item_id), "after": spans_json(spans)},
                )
            )
    adjudication_loop = None
    if kind == ADJUDICATION:
        adjudicator, verdicts = adjudicated(output, answers)
        source = str(content.get("sourceLoop", ""))
        for v in verdicts:
            batch.accept(
                deps.objects, name, v.item_id, v.text, v.spans, _lineage(v, name, source, adjudicator)
            )
        disputed = gold = 0
    else:
        verdicts = _entity_verdicts(name, output, answers, deps, audit)
        for v in verdicts:
            if v.accepted:
                _accept(deps, audit, name, v, _lineage(v, name, name, None))
        disputed = sum(v.decision in ("disputed", "held") for v in verdicts)
        gold = sum(v.decision == "gold" for v in verdicts)
        adjudication = adjudication_input(name, content, verdicts)
        if adjudication is not None:
            flow = deps.params.get(FLOW) or deps.params.get(REVIEW_FLOW)
            if flow:
                adjudication_loop = adjudication_name(name)
                try:
                    deps.review.start(adjudication_loop, flow, adjudication)
                except ResourceInUse:  # a retried event: the adjudication loop was started the first time
                    logger.info(
                        "adjudication loop exists already", extra={"human_loop_name": adjudication_loop}
                    )
    accepted = sum(v.accepted for v in verdicts)
    size = max(1, int(deps.number(BATCH_SIZE, DEFAULT_BATCH_SIZE)))
    result = batch.flush_accepted(deps.objects, prefix=deps.upload_prefix, min_documents=size)
    logger.info(
        "annotation processed",
        extra={
            "human_loop_name": name,
            "kind": kind,
            "accepted": accepted,
            "disputed": disputed,
            "gold": gold,
            "adjudication_loop": adjudication_loop,
            "batch": result.key,
        },
    )
    return AnnotationProcessed(name, kind, accepted, disputed, gold, len(rejected), adjudication_loop, result)


def _entity_verdicts(
    name: str, output: Mapping[str, Any], answers: list[Any], deps: AnnotationDeps, audit: AuditLog
) -> list[Verdict]:
    gold_set = GoldSet(deps.objects)
    annotators = Annotators(deps.objects)
    threshold = deps.number(GOLD_THRESHOLD, DEFAULT_THRESHOLD)
    min_gold = int(deps.number(MIN_GOLD, DEFAULT_MIN_GOLD))
    known = annotators.known()
    records: dict[str, AnnotatorRecord] = {a.worker: annotators.get(a.worker, known) for a in answers}
    gold_ids = gold_set.ids()
    items = answers[0].spans if answers else {}
    golds = {item_id: gold_set.get(item_id) if item_id in gold_ids else None for item_id in items}
    ordinary = [item_id for item_id, document in golds.items() if document is None]
    agreement = annotator_agreement({a.worker: a.spans[i] for a in answers} for i in ordinary)
    for answer in answers:  # score the gold items first: this loop's gold answers count already
        record = records[answer.worker]
        if name in record.loops:  # a retried event: this loop was counted
            continue
        if answer.worker in agreement:
            figures = agreement[answer.worker]
            record.shared += figures.documents
            record.agreement_f1_sum += figures.span_f1 * figures.documents
            record.agreement_kappa_sum += figures.kappa * figures.documents
        for item_id, document in golds.items():
            if document is not None:
                f1 = record.score(answer.spans[item_id], document)
                audit.record(
                    AuditEvent("gold", name, item_id, answer.worker, details={"span_f1": round(f1, 4)})
                )
        record.documents += sum(document is None for document in golds.values())
        record.loops.append(name)
        annotators.put(record)
    verdicts = consolidate(
        output,
        answers,
        is_gold=lambda item_id: golds.get(item_id) is not None,
        is_held=lambda worker: records[worker].held(threshold, min_gold),
    )
    for v in verdicts:
        if v.decision != "gold":
            audit.record(
                AuditEvent(
                    v.decision,
                    name,
                    v.item_id,
                    "system",
                    details={
                        "agreement": v.agreement.as_dict() if v.agreement else None,
                        "held_workers": list(v.held_workers),
                    },
                )
            )
    return verdicts


def _accept(deps: AnnotationDeps, audit: AuditLog, loop: str, v: Verdict, lineage: dict[str, Any]) -> None:
    try:
        batch.accept(deps.objects, loop, v.item_id, v.text, v.spans, lineage)
    except InvalidRequest as err:  # not a document Comprehend can train on: audited, not batched
        audit.record(AuditEvent("unwritable", loop, v.item_id, "system", details={"reason": str(err)}))


def _prefilled(content: Mapping[str, Any], item_id: str) -> list[Any]:
    for item in content.get("items") or []:
        if isinstance(item, dict) and str(item.get("id")) == item_id:
            return list(item.get("entities") or [])
    return []


def _lineage(v: Verdict, loop: str, source: str, adjudicator: str | None) -> dict[str, Any]:
    return {
        "loop": loop,
        "sourceLoop": source,
        "decision": v.decision,
        "annotators": sorted(v.versions),
        "adjudicator": adjudicator,
        "at": now_iso(),
    }
