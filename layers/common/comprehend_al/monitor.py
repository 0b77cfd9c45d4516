"""The monitor (scheduled): drift, live accuracy, review backlog, waiting labels, endpoints and their cost.

Each run reads what the loop counted (:mod:`comprehend_al.store.live_stats`) and the registry, and
publishes one set of metrics (namespace ``ComprehendActiveLearning``, dimension ``ModelKind``), which the
template's dashboard shows and its alarms watch:

* drift of the active classifier, live window against its baseline (:mod:`comprehend_al.drift`):
  ``DriftScore``, ``LabelDriftPSI``, ``LabelDriftJS``, ``ConfidenceDriftPSI``, ``TextLengthDriftPSI``,
  ``LowConfidenceRate``, ``OovShare`` (only with at least ``DRIFT_MIN_PREDICTIONS`` predictions in the
  window: fewer would make noise), ``LivePredictions`` (always); the labels that moved are logged and kept
  in the run's report (``DRIFT#classifier`` items, for the offline dashboard);
* ``LiveAccuracy``: the share of human labels (review answers, corrections of a prediction) that agreed
  with the active version's prediction, over ``LIVE_ACCURACY_WINDOW_HOURS``; ``LiveLabels``: how many;
* ``OpenReviews`` and ``OldestReviewAgeDays``: human loops started and not answered;
  ``ReviewsStartedToday``: the review budget used so far today (UTC);
* ``LabelsWaitingDays`` per kind: how long the oldest label not in the active model has waited (pending
  in the label buffer, or accepted into a dataset version newer than the active model's);
* ``InferenceUnits`` and ``EndpointCostPerDay`` per kind: the active endpoint's units in service and what
  they bill a day ($0.0005 per IU-second).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from comprehend_al.aws.errors import aws_call
from comprehend_al.drift import DriftReport, Profile, add, compare
from comprehend_al.models import ModelKind
from comprehend_al.observability import MetricUnit, emit, logger
from comprehend_al.pointers import Pointers
from comprehend_al.settings import MonitorSettings
from comprehend_al.store.label_buffer import LabelBuffer
from comprehend_al.store.live_stats import LiveStats
from comprehend_al.store.registry import RegistryBase
from comprehend_al.store.review_gate import ReviewGate

IU_SECOND_PRICE = 0.0005  # USD per inference unit and second (Comprehend pricing, us-east-1)
DAY = 86_400
CLASSIFIER = ModelKind.CLASSIFIER


@dataclass
class MonitorDeps:
    monitor: MonitorSettings
    registry: RegistryBase
    pointers: Pointers
    stats: LiveStats
    buffer: LabelBuffer | None
    gate: ReviewGate | None  # today's review budget use
    comprehend: Any  # boto3 Comprehend client (DescribeEndpoint)
    kinds: tuple[ModelKind, ...] = tuple(ModelKind)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


class EndpointFigures(BaseModel):
    kind: ModelKind
    model_version: str | None
    endpoint_arn: str | None
    inference_units: int
    cost_per_day: float
    labels_waiting_days: float


class MonitorReport(BaseModel):
    at: str
    model_version: str | None  # the active classifier
    drift: DriftReport | None
    live_accuracy: float | None
    live_labels: int
    open_reviews: int
    oldest_review_days: float
    kinds: list[EndpointFigures]


def _days(since: datetime, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds() / DAY)


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def drift_of(deps: MonitorDeps, version: str, now: datetime) -> DriftReport | None:
    record = deps.registry.model(CLASSIFIER, version)
    if record is None or not record.baseline:
        logger.warning("no drift baseline for the active model", extra={"model_version": version})
        return None
    since = now - timedelta(hours=deps.monitor.drift_window_hours)
    live = add(deps.stats.window(CLASSIFIER.value, version, since))
    return compare(
        Profile.model_validate(record.baseline),
        live,
        low_confidence=deps.monitor.low_confidence,
        min_predictions=deps.monitor.drift_min_predictions,
    )


def _publish_drift(report: DriftReport) -> None:
    kind = CLASSIFIER.value
    emit("LivePredictions", kind, report.predictions)
    if not report.enough:
        return
    none = MetricUnit.NoUnit
    emit("DriftScore", kind, round(report.drift_score, 6), none)
    emit("LabelDriftPSI", kind, round(report.label_psi, 6), none)
    emit("LabelDriftJS", kind, round(report.label_js, 6), none)
    emit("ConfidenceDriftPSI", kind, round(report.confidence_psi, 6), none)
    emit("TextLengthDriftPSI", kind, round(report.length_psi, 6), none)
    emit("LowConfidenceRate", kind, round(report.low_confidence_rate, 6), MetricUnit.NoUnit)
    if report.oov_share is not None:
        emit("OovShare", kind, round(report.oov_share, 6), MetricUnit.NoUnit)


def labels_waiting_days(deps: MonitorDeps, kind: ModelKind, version: str | None, now: datetime) -> float:
    """Age of the oldest label the active model of ``kind`` has not learnt from (0 when none waits)."""
    waiting: list[datetime] = []
    if kind is CLASSIFIER and deps.buffer is not None:
        pending = deps.buffer.pending()
        waiting += [_parse(pending[0].created_at)] if pending and pending[0].created_at else []
    record = deps.registry.model(kind, version) if version else None
    active = (
        deps.registry.dataset(kind, record.dataset_version) if record and record.dataset_version else None
    )
    newer = [d for d in deps.registry.datasets(kind) if not active or d.created_at > active.created_at]
    waiting += [_parse(d.created_at) for d in newer if d.created_at]
    return round(_days(min(waiting), now), 3) if waiting else 0.0


def _endpoint_units(deps: MonitorDeps, endpoint_arn: str | None) -> int:
    if not endpoint_arn:
        return 0
    with aws_call("DescribeEndpoint"):
        described = deps.comprehend.describe_endpoint(EndpointArn=endpoint_arn)["EndpointProperties"]
    return int(described.get("CurrentInferenceUnits") or 0)


def monitor(deps: MonitorDeps) -> MonitorReport:
    now = deps.clock()
    figures = []
    for kind in deps.kinds:
        active = deps.pointers.read(kind, fresh=True)
        units = _endpoint_units(deps, active.endpoint_arn)
        waiting = labels_waiting_days(deps, kind, active.version, now)
        figure = EndpointFigures(
            kind=kind,
            model_version=active.version,
            endpoint_arn=active.endpoint_arn,
            inference_units=units,
            cost_per_day=round(units * IU_SECOND_PRICE * DAY, 2),
            labels_waiting_days=waiting,
        )
        emit("InferenceUnits", kind.value, units)
        emit("EndpointCostPerDay", kind.value, figure.cost_per_day, MetricUnit.NoUnit)
        emit("LabelsWaitingDays", kind.value, waiting, MetricUnit.NoUnit)
        figures.append(figure)
    version = next((f.model_version for f in figures if f.kind is CLASSIFIER), None)
    drift = drift_of(deps, version, now) if version else None
    if drift is not None:
        _publish_drift(drift)
        deps.stats.put_report(CLASSIFIER.value, now, {"model_version": version, **drift.model_dump()})
        if drift.enough and drift.moved:
            logger.warning(
                "live labels moved", extra={"moved": drift.moved, "drift_score": drift.drift_score}
            )
    accuracy, labelled = _live_accuracy(deps, version, now)
    if deps.gate is not None:
        emit("ReviewsStartedToday", CLASSIFIER.value, deps.gate.used_today())
    opened = deps.stats.open_reviews(now)
    oldest = round(_days(min(opened), now), 3) if opened else 0.0
    emit("OpenReviews", CLASSIFIER.value, len(opened))
    emit("OldestReviewAgeDays", CLASSIFIER.value, oldest, MetricUnit.NoUnit)
    report = MonitorReport(
        at=now.isoformat(),
        model_version=version,
        drift=drift,
        live_accuracy=accuracy,
        live_labels=labelled,
        open_reviews=len(opened),
        oldest_review_days=oldest,
        kinds=figures,
    )
    logger.info("monitored", extra={"model_version": version, "drift": drift.drift_score if drift else None})
    return report


def _live_accuracy(deps: MonitorDeps, version: str | None, now: datetime) -> tuple[float | None, int]:
    if not version:
        return None, 0
    since = now - timedelta(hours=deps.monitor.accuracy_window_hours)
    items = deps.stats.window(CLASSIFIER.value, version, since)
    labelled = sum(int(i.get("labelled", 0)) for i in items)
    agreed = sum(int(i.get("agreed", 0)) for i in items)
    emit("LiveLabels", CLASSIFIER.value, labelled)
    if not labelled:
        return None, 0
    accuracy = round(agreed / labelled, 6)
    emit("LiveAccuracy", CLASSIFIER.value, accuracy, MetricUnit.NoUnit)
    return accuracy, labelled
