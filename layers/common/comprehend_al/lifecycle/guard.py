"""GuardBatches: before any training is paid for, hold the new batches the champion flatly disagrees with.

Between PrepareTrainingData and the runs: for each run, every batch of its dataset version that no guard
has looked at yet is scored with the champion's endpoint in real time (a seeded sample of
``GUARD_SAMPLE_SIZE`` rows; ClassifyDocument / DetectEntities) and tested (:mod:`comprehend_al.guard`).
A flagged batch is held, with its report (``datasets/<kind>/batches/<id>/guard.json``); the dataset
version is composed again without it. When nothing new is left to train, the run ends here: the lock is
released and the notification carries the report. With no champion nothing is held; feedback and review
flushes are not tested (they are corrections: they disagree with the champion on purpose), nor is a batch
a user readmitted.

Only the real-time path is implemented: a large batch is sampled, not sent through an asynchronous job.
"""

from __future__ import annotations

import json
from typing import Any

from comprehend_al.guard import GuardReport, assess
from comprehend_al.kinds import spec
from comprehend_al.lifecycle.deps import GUARD_CONFIDENCE, GUARD_TOLERANCE, Deps, stamp, suffix
from comprehend_al.lifecycle.lineage import compose, eligible
from comprehend_al.lifecycle.prepare import blocked_reasons
from comprehend_al.models import BatchOrigin, BatchStatus, ModelKind
from comprehend_al.observability import logger
from comprehend_al.pointers import Active
from comprehend_al.state import PrepareResult, Run
from comprehend_al.store.records import BatchRecord

GUARDED_ORIGINS = {BatchOrigin.UPLOAD.value}


def guard_batches(prepared: PrepareResult, execution_id: str, deps: Deps) -> PrepareResult:
    """The runs Prepare returned, less those whose new data the guard held entirely."""
    result = PrepareResult(outcomes=list(prepared.outcomes))
    for run in prepared.runs:
        kept, outcome = _guard_run(run, execution_id, deps)
        if outcome:
            result.outcomes.append(outcome)
        if kept is None:
            deps.registry.release_lock(run.kind, execution_id)
        else:
            result.runs.append(kept)
    return result


def _guard_run(run: Run, execution_id: str, deps: Deps) -> tuple[Run | None, dict[str, Any] | None]:
    kind = run.kind
    record = deps.registry.dataset(kind, run.dataset.version)
    ids = set(record.batches or []) if record else set()
    unseen = [
        b
        for b in deps.registry.batches(kind)
        if b.batch_id in ids and b.guard is None and b.status in (BatchStatus.PENDING, BatchStatus.MERGED)
    ]
    if not unseen:
        return run, None
    active = deps.pointers.read(kind, fresh=True)
    expected, known = _champion_figures(kind, active, run, deps)
    held: list[tuple[BatchRecord, GuardReport]] = []
    for batch in unseen:
        skip = _skip_reason(batch, active, expected)
        if skip:
            deps.registry.update_batch(kind, batch.batch_id, guard={"skipped": skip})
            continue
        assert expected is not None and active.endpoint_arn is not None
        report = _score(batch, active.endpoint_arn, expected, known, deps)
        uri = _write_report(batch, report, deps)
        figures = {k: v for k, v in report.as_dict().items() if k not in {"suspicious", "per_label"}}
        if report.held:
            reason = f"held by the guard before training: {report.reason}"
            deps.registry.set_batch_status(
                kind, batch, BatchStatus.HELD, reason, guard=figures, report_uri=uri
            )
            held.append((batch, report))
        else:
            deps.registry.update_batch(kind, batch.batch_id, guard=figures)
    if not held:
        return run, None
    return _without(run, held, execution_id, deps)


def _champion_figures(
    kind: ModelKind, active: Active, run: Run, deps: Deps
) -> tuple[float | None, set[str] | None]:
    """(the champion's test score that predicts agreement, the labels it was trained on)."""
    if not active.serving or active.version is None:
        return None, None
    model = deps.registry.model(kind, active.version)
    if model is None or not model.evaluations:
        return None, None
    scores = model.evaluations.get(run.dataset.test_version) or list(model.evaluations.values())[-1]
    name = (
        "Recall"
        if kind is ModelKind.ENTITY_RECOGNIZER
        else ("MicroRecall" if deps.settings.multi_label else "Accuracy")
    )
    value = scores.get(name)
    dataset = deps.registry.dataset(kind, model.dataset_version) if model.dataset_version else None
    known = set(dataset.dataset.label_counts) if dataset else None
    return (float(value) if isinstance(value, int | float) else None), known


def _skip_reason(batch: BatchRecord, active: Active, expected: float | None) -> str | None:
    if not active.serving:
        return "no champion to compare with"
    if batch.origin not in GUARDED_ORIGINS:
        return f"a {batch.origin} flush: corrections disagree with the champion on purpose"
    if expected is None:
        return "the champion has no test-set score to predict agreement"
    if not batch.data_uri:
        return "no stored rows"
    return None


def _score(
    batch: BatchRecord, endpoint: str, expected: float, known: set[str] | None, deps: Deps
) -> GuardReport:
    kind = ModelKind(batch.kind)
    data = deps.data(kind)
    call = getattr(deps.comprehend, spec(kind).realtime)
    units = data.guard_units(
        data.load_batch(str(batch.data_uri)),
        lambda text: call(endpoint, text),
        limit=deps.settings.guard_sample_size,
        seed=batch.batch_id,
    )
    report = assess(
        units,
        expected=expected,
        tolerance=deps.number(GUARD_TOLERANCE, deps.settings.guard_tolerance),
        confidence=deps.number(GUARD_CONFIDENCE, deps.settings.guard_confidence),
        known_labels=known,
    )
    logger.info(
        "guard",
        extra={
            "kind": kind.value,
            "batch": batch.batch_id,
            "held": report.held,
            "agreement": report.agreement,
        },
    )
    return report


def _write_report(batch: BatchRecord, report: GuardReport, deps: Deps) -> str:
    key = f"{deps.settings.datasets_prefix}{batch.kind}/batches/{batch.batch_id}/guard.json"
    body = {
        "batch": batch.batch_id,
        "source": batch.source,
        "lines_of": batch.data_uri,  # the lines below are lines of the batch's stored rows
        **report.as_dict(),
    }
    deps.bucket.put(key, json.dumps(body, indent=2).encode(), content_type="application/json")
    return deps.bucket.uri(key)


def _without(
    run: Run, held: list[tuple[BatchRecord, GuardReport]], execution_id: str, deps: Deps
) -> tuple[Run | None, dict[str, Any]]:
    """The run on a dataset version without the held batches, or ``None`` when nothing new is left."""
    kind = run.kind
    reports = [
        {
            "batch": b.batch_id,
            "source": b.source,
            "report": deps.registry.batch(kind, b.batch_id).report_uri,  # type: ignore[union-attr]
            "reason": r.reason,
            "moves": r.summary(),
            "suspicious": r.suspicious[:5],
        }
        for b, r in held
    ]
    outcome: dict[str, Any] = {"kind": kind.value, "held": reports}
    left = [b for b in eligible(deps.registry.batches(kind)) if b.status != BatchStatus.ACCEPTED]
    composition = None
    if left:  # new data the guard let through: a version without the held batches
        version = f"d{stamp(deps.clock())}-{suffix(execution_id, run.version, kind.value, 'guard')}"
        names = ", ".join(b.batch_id for b, _ in held)
        composition = compose(
            kind, deps, version=version, execution_id=execution_id, reason=f"the guard held {names}"
        )
    if composition is None or not composition.new:
        outcome.update(status="held", reason="every new batch was held by the guard: nothing to train")
        deps.notifier.publish(f"{kind.value}: batch held before training", {**outcome, "outcome": "held"})
        return None, outcome
    for batch in composition.new:
        if batch.status == BatchStatus.MERGED:
            deps.registry.update_batch(kind, batch.batch_id, dataset_version=version)
    blocked = blocked_reasons(deps.data(kind), composition.split.trainable, deps.data(kind).test_set())
    if blocked:
        outcome.update(status="waiting", dataset=version, reasons=blocked)
        deps.notifier.publish(
            f"{kind.value}: batch held, the rest not trained", {**outcome, "outcome": "waiting"}
        )
        return None, outcome
    outcome.update(status="training", dataset=version, version=run.version)
    deps.notifier.publish(f"{kind.value}: batch held before training", {**outcome, "outcome": "held"})
    return run.model_copy(update={"dataset": composition.dataset}), outcome
