"""The model lifecycle, one function per state machine step (the handlers are thin wrappers).

Every function takes the parts of the run state it needs and a :class:`Deps` holding the adapters,
so the whole lifecycle is testable with moto or fakes, and both model kinds share one implementation.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from comprehend_al.aws.comprehend import ComprehendClient, ModelOps
from comprehend_al.aws.s3 import Bucket, ObjectInfo, get_uri
from comprehend_al.aws.sns import Notifier
from comprehend_al.aws.ssm import ParameterStore
from comprehend_al.config import DeploymentStrategy, Settings, get_settings
from comprehend_al.errors import (
    EndpointFailed,
    InvalidRequest,
    InvalidTrainingData,
    JobFailed,
    PollTimedOut,
    ResourceNotFound,
    TrainingFailed,
    WorkflowError,
)
from comprehend_al.kinds import DataKind, Merged, TestSet, Upload, data_kinds
from comprehend_al.models import ClassificationMetrics, EntityMetrics, ModelKind, ModelStatus, SelectionMetric
from comprehend_al.observability import METRICS_NAMESPACE, logger
from comprehend_al.registry import Registry, version_of_arn
from comprehend_al.selection import select
from comprehend_al.state import (
    EndpointState,
    Evaluation,
    ModelState,
    PrepareResult,
    Promotion,
    Run,
    RunOutcome,
    RunState,
    SelectionState,
    TestJob,
    TestState,
)

ACTIVE_MODEL = "active-model-arn"
ACTIVE_ENDPOINT = "active-endpoint-arn"
SELECTION_METRIC = "selection-metric"
MIN_IMPROVEMENT = "min-improvement"
SCALAR_METRICS_DROPPED = ("confusion_matrix", "per_type", "labels")  # kept in the registry, not the state


@dataclass
class Deps:
    settings: Settings
    bucket: Bucket
    registry: Registry
    params: ParameterStore
    comprehend: ComprehendClient
    notifier: Notifier
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _kinds: dict[ModelKind, DataKind] | None = None

    @classmethod
    def from_env(cls) -> Deps:
        settings = get_settings()
        return cls(
            settings=settings,
            bucket=Bucket(settings.data_bucket),
            registry=Registry(settings.registry_table),
            params=ParameterStore(),
            comprehend=ComprehendClient(),
            notifier=Notifier(settings.topic_arn),
        )

    @property
    def kinds(self) -> dict[ModelKind, DataKind]:
        if self._kinds is None:
            self._kinds = data_kinds(self.settings, self.bucket)
        return self._kinds

    def data(self, kind: ModelKind) -> DataKind:
        return self.kinds[kind]

    def ops(self, kind: ModelKind) -> ModelOps:
        return self.comprehend.ops(
            kind, mode=self.settings.classifier_mode.value, delimiter=self.settings.label_delimiter
        )

    def param(self, kind: ModelKind | None, name: str) -> str:
        return self.settings.parameter(kind, name)


# --- PrepareTrainingData ---
def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%S")


def _suffix(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:6]


def prepare_training_data(
    event: dict[str, Any], execution_id: str, deps: Deps, *, round_: int = 0
) -> PrepareResult:
    """Validate and merge every pending upload into new dataset versions; one run per kind to train.

    Pending uploads are everything under ``train/new/``, not just the object in the event: a run takes
    all that arrived since the last one, and a duplicate delivery of the same event finds nothing left.
    Runs of one kind are serialized by a lock held until FinishRun / HandleFailure releases it.
    """
    _check_event(event, deps.settings)
    settings, result = deps.settings, PrepareResult()
    pending = [i for i in deps.bucket.list(settings.upload_prefix) if not i.key.endswith("/")]
    claimed: dict[ModelKind, list[Upload]] = {}
    rest: list[ObjectInfo] = pending
    for kind, data in deps.kinds.items():
        claimed[kind], rest = data.claim(rest)
    for info in rest:
        if posixpath.basename(info.key) not in {"documents.txt", "annotations.csv"}:
            try:
                _quarantine_unknown(info, execution_id, deps)
            except ResourceNotFound:  # another execution quarantined it first
                continue
    for kind, uploads in claimed.items():
        if not uploads:
            continue
        if not deps.registry.acquire_lock(kind, execution_id, seconds=settings.lock_seconds):
            holder = deps.registry.lock_holder(kind)
            logger.info("run in progress: uploads stay pending", extra={"kind": kind.value, "holder": holder})
            result.outcomes.append(
                {"kind": kind.value, "status": "skipped", "reason": f"run in progress: {holder}"}
            )
            continue
        try:
            # under the lock, look again: a run that held it may have merged some of them meanwhile
            uploads, _ = deps.data(kind).claim(list(deps.bucket.list(settings.upload_prefix)))
            run, outcome = _prepare_kind(kind, uploads, execution_id, round_, deps)
        except Exception:
            deps.registry.release_lock(kind, execution_id)
            raise
        result.outcomes.append(outcome)
        if run is None:
            deps.registry.release_lock(kind, execution_id)
        else:
            result.runs.append(run)
    return result


def _check_event(event: dict[str, Any], settings: Settings) -> None:
    if not event or "detail" not in event:
        return  # a manual start ({}): drain whatever is pending
    bucket = event.get("detail", {}).get("bucket", {}).get("name")
    if bucket and bucket != settings.data_bucket:
        raise InvalidRequest(f"event for bucket {bucket!r}, expected {settings.data_bucket!r}")


def _prepare_kind(
    kind: ModelKind, uploads: list[Upload], execution_id: str, round_: int, deps: Deps
) -> tuple[Run | None, dict[str, Any]]:
    data, settings = deps.data(kind), deps.settings
    current = deps.registry.current_dataset(kind)
    rows = data.load(current)
    merged: Merged | None = None
    accepted: list[Upload] = []
    quarantined: list[str] = []
    conflicts: list[dict[str, Any]] = []
    added = dropped = 0
    for upload in sorted(uploads, key=lambda u: u.name):
        try:
            new_rows = data.validate(upload)
        except InvalidTrainingData as error:
            _quarantine(upload, error, execution_id, deps)
            quarantined.append(upload.name)
            continue
        merged = data.merge(rows, new_rows)
        rows = merged.data
        added += merged.added
        dropped += merged.duplicates_dropped
        conflicts.extend(merged.conflicts)
        accepted.append(upload)
    _count("UploadsQuarantined", kind, len(quarantined))
    _count("RowsAdded", kind, added)
    status: dict[str, Any] = {
        "kind": kind.value,
        "quarantined": quarantined,
        "accepted": [u.name for u in accepted],
    }
    if merged is None:
        return None, {**status, "status": "quarantined" if quarantined else "nothing_pending"}
    now = deps.clock()
    version = f"d{_stamp(now)}-{_suffix(execution_id, str(round_), kind.value)}"
    test = data.test_set()
    merged = Merged(merged.data, merged.documents, merged.label_counts, added, dropped, conflicts)
    dataset = data.write(merged, version, test)
    deps.registry.put_dataset(
        dataset,
        uploads=[u.name for u in accepted],
        parent=current.version if current else None,
        execution_id=execution_id,
    )
    for upload in accepted:  # only now: the data is safely in a dataset version
        for key in upload.keys:
            deps.bucket.move(
                key, f"{settings.processed_prefix}{version}/{key[len(settings.upload_prefix) :]}"
            )
    status.update(
        dataset=dataset.version,
        documents=dataset.documents,
        added=added,
        duplicates_dropped=dropped,
        conflicts=conflicts[:50],
    )
    logger.info(
        "dataset version written",
        extra={
            "kind": kind.value,
            "dataset": version,
            "added": added,
            "duplicates_dropped": dropped,
            "conflicts": len(conflicts),
        },
    )
    blocked = _blocked_reasons(data, merged, test)
    if blocked:
        deps.notifier.publish(
            f"{kind.value}: data merged, not trained", {**status, "outcome": "waiting", "reasons": blocked}
        )
        return None, {**status, "status": "waiting", "reasons": blocked}
    model_version = f"v{_stamp(now)}-{_suffix(execution_id, str(round_), kind.value, 'model')}"
    run = Run(
        kind=kind,
        version=model_version,
        model_name=settings.model_name(kind),
        dataset=dataset,
        execution_id=execution_id,
    )
    return run, {**status, "status": "training", "version": model_version}


def _blocked_reasons(data: DataKind, merged: Merged, test: TestSet | None) -> list[str]:
    if test is None:
        return [f"no fixed test set: upload it to s3://{data.bucket.name}/{data.test_key} (see README)"]
    return data.trainable(merged) + data.check_test_set(merged, test)


def _quarantine(upload: Upload, error: InvalidTrainingData, execution_id: str, deps: Deps) -> None:
    settings = deps.settings
    folder = f"{settings.quarantine_prefix}{_stamp(deps.clock())}-{upload.fingerprint}/"
    report = {
        "upload": upload.name,
        "execution_id": execution_id,
        "problems": [
            {"file": p.file, "line": p.line, "field": p.field, "reason": p.reason} for p in error.problems
        ],
    }
    for key in upload.keys:
        deps.bucket.move(key, folder + key[len(settings.upload_prefix) :])
    deps.bucket.put(
        folder + "report.json", json.dumps(report, indent=2).encode(), content_type="application/json"
    )
    logger.warning("upload quarantined", extra={"upload": upload.name, "problems": len(error.problems)})
    deps.notifier.publish(
        f"{upload.kind.value}: upload quarantined",
        {
            "outcome": "quarantined",
            "kind": upload.kind.value,
            "report": deps.bucket.uri(folder + "report.json"),
            "problems": [str(p) for p in error.problems[:20]],
        },
    )


def _quarantine_unknown(info: ObjectInfo, execution_id: str, deps: Deps) -> None:
    from comprehend_al.errors import Problem

    upload = Upload(ModelKind.CLASSIFIER, info.key, (info.key,), (info.etag,))
    problem = Problem(
        info.key,
        0,
        "file",
        "not a training file: expected LABEL,text .csv or documents.txt + annotations.csv",
    )
    _quarantine(upload, InvalidTrainingData([problem]), execution_id, deps)


# --- training ---
def start_model_building(run: Run, deps: Deps) -> ModelState:
    settings = deps.settings
    output_uri = deps.bucket.uri(f"{settings.output_prefix}{run.kind.value}/{run.version}/training/")
    deps.registry.put_model(
        run.kind,
        run.version,
        status=ModelStatus.TRAINING.value,
        dataset_version=run.dataset.version,
        dataset_documents=run.dataset.documents,
        test_version=run.dataset.test_version,
        execution_id=run.execution_id,
        model_arn=None,
    )
    model_arn = deps.ops(run.kind).start_training(
        name=run.model_name,
        version=run.version,
        dataset=run.dataset,
        role_arn=settings.comprehend_role_arn,
        output_uri=output_uri,
        language=settings.language_code,
        tags={"dataset-version": run.dataset.version, "managed-by": settings.resource_prefix},
    )
    deps.registry.update_model(run.kind, run.version, model_arn=model_arn)
    logger.info(
        "training started",
        extra={"kind": run.kind.value, "model_version": run.version, "model_arn": model_arn},
    )
    return ModelState(model_arn=model_arn, version=run.version, status="SUBMITTED")


def _next_attempt(attempt: int, deps: Deps, what: str) -> int:
    attempt += 1
    if attempt > deps.settings.max_poll_attempts:
        raise PollTimedOut(f"{what} not ready after {deps.settings.max_poll_attempts} polls")
    return attempt


def get_model_status(run: Run, model: ModelState, deps: Deps) -> ModelState:
    status = deps.ops(run.kind).describe_training(model.model_arn)
    if status.failed:
        raise TrainingFailed(f"{model.model_arn}: {status.status}: {status.message}")
    if status.done:
        deps.registry.update_model(
            run.kind, run.version, status=ModelStatus.TRAINED.value, training_metrics=status.metrics
        )
        return model.model_copy(update={"status": status.status, "done": True, "message": status.message})
    attempt = _next_attempt(model.attempt, deps, f"model {model.model_arn}")
    return model.model_copy(update={"status": status.status, "attempt": attempt})


# --- test-set evaluation ---
def _champion(kind: ModelKind, deps: Deps) -> tuple[str, str] | None:
    """(model ARN, version) of the active model, from SSM."""
    arn = deps.params.get(deps.param(kind, ACTIVE_MODEL))
    return (arn, version_of_arn(arn)) if arn else None


def start_test_job(run: Run, model: ModelState, deps: Deps) -> TestState:
    """Run the fixed test set through the challenger, and through the champion when the champion has
    not been evaluated on this test-set version yet (so both are compared on the same data)."""
    data, settings = deps.data(run.kind), deps.settings
    input_uri = data.test_documents_uri(run.dataset)
    targets = [("challenger", model.model_arn, model.version)]
    champion = _champion(run.kind, deps)
    if champion:
        record = deps.registry.model(run.kind, champion[1])
        if record is None:  # e.g. SSM pointed by hand at a model this registry never saw
            deps.registry.put_model(
                run.kind,
                champion[1],
                model_arn=champion[0],
                status=ModelStatus.ACTIVE.value,
                reason="adopted from SSM",
            )
            record = {}
        if run.dataset.test_version not in (record.get("evaluations") or {}):
            targets.append(("champion", champion[0], champion[1]))
    jobs = []
    for role, arn, version in targets:
        output_uri = deps.bucket.uri(
            f"{settings.output_prefix}{run.kind.value}/{run.version}/test-{run.dataset.test_version}/{role}/"
        )
        job_id = deps.ops(run.kind).start_test_job(
            model_arn=arn,
            job_name=f"{run.model_name}-{run.version}-{role}",
            input_uri=input_uri,
            output_uri=output_uri,
            role_arn=settings.comprehend_role_arn,
            language=settings.language_code,
        )
        deps.registry.put_job(
            job_id,
            kind=run.kind.value,
            role=role,
            model_version=version,
            model_arn=arn,
            run_version=run.version,
            test_version=run.dataset.test_version,
            status="SUBMITTED",
        )
        jobs.append(TestJob(role=role, model_arn=arn, version=version, job_id=job_id))
    return TestState(test_version=run.dataset.test_version, jobs=jobs)


def get_job_status(run: Run, test: TestState, deps: Deps) -> TestState:
    jobs = []
    for job in test.jobs:
        if job.status != "COMPLETED":
            status = deps.ops(run.kind).describe_test_job(job.job_id)
            if status.failed:
                deps.registry.update_job(job.job_id, status=status.status, message=status.message)
                raise JobFailed(f"{job.role} test job {job.job_id}: {status.status}: {status.message}")
            if status.status != job.status:
                deps.registry.update_job(job.job_id, status=status.status, output_uri=status.output_uri)
            job = job.model_copy(update={"status": status.status, "output_uri": status.output_uri})
        jobs.append(job)
    if all(j.status == "COMPLETED" for j in jobs):
        return test.model_copy(update={"jobs": jobs, "done": True})
    attempt = _next_attempt(test.attempt, deps, "test jobs")
    return test.model_copy(update={"jobs": jobs, "attempt": attempt})


def _scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k not in SCALAR_METRICS_DROPPED}


def _selection_config(kind: ModelKind, deps: Deps) -> tuple[SelectionMetric, float]:
    metric = (
        deps.params.get(deps.param(None, SELECTION_METRIC)) or deps.settings.default_selection_metric.value
    )
    improvement = deps.params.get(deps.param(None, MIN_IMPROVEMENT))
    try:
        return SelectionMetric(metric), float(improvement) if improvement else deps.settings.min_improvement
    except ValueError as error:
        raise InvalidRequest(f"SSM {deps.param(None, SELECTION_METRIC)}: {error}") from error


def evaluate_model(run: Run, test: TestState, deps: Deps) -> Evaluation:
    """Score each completed job's predictions against the gold test set; store them in the registry."""
    data = deps.data(run.kind)
    results: dict[str, dict[str, Any]] = {}
    for job in test.jobs:
        metrics = data.evaluate(run.dataset, get_uri(job.output_uri, deps.bucket.client))
        deps.registry.add_evaluation(run.kind, job.version, test.test_version, metrics)
        results[job.role] = _scalars(metrics)
    champion = _champion(run.kind, deps)
    champion_metrics = results.get("champion")
    if champion and champion_metrics is None:
        record = deps.registry.model(run.kind, champion[1]) or {}
        stored = (record.get("evaluations") or {}).get(test.test_version)
        champion_metrics = _scalars(stored) if stored else None
    metric, _ = _selection_config(run.kind, deps)
    logger.info(
        "evaluated",
        extra={
            "kind": run.kind.value,
            "model_version": run.version,
            "challenger": results["challenger"].get(metric.value),
            "champion": (champion_metrics or {}).get(metric.value),
        },
    )
    return Evaluation(
        test_version=test.test_version,
        metric=metric.value,
        challenger=results["challenger"],
        champion=champion_metrics,
        champion_version=champion[1] if champion else None,
    )


def _metrics_model(kind: ModelKind, values: dict[str, Any]) -> ClassificationMetrics | EntityMetrics:
    model = ClassificationMetrics if kind is ModelKind.CLASSIFIER else EntityMetrics
    return model.model_validate(values)


def model_selection(run: Run, evaluation: Evaluation, deps: Deps) -> SelectionState:
    metric, min_improvement = _selection_config(run.kind, deps)
    challenger = _metrics_model(run.kind, evaluation.challenger)
    champion = _metrics_model(run.kind, evaluation.champion) if evaluation.champion else None
    selection = select(challenger, champion, metric=metric, min_improvement=min_improvement)
    state = SelectionState(
        decision=selection.decision,
        reason=selection.reason,
        metric=metric.value,
        challenger_value=selection.challenger_value,
        champion_value=selection.champion_value,
    )
    deps.registry.update_model(run.kind, run.version, selection=state.model_dump(mode="json"))
    logger.info(
        "selection", extra={"kind": run.kind.value, "model_version": run.version, **state.model_dump()}
    )
    return state


# --- deployment ---
def endpoint_name(settings: Settings, kind: ModelKind, version: str) -> str:
    """Comprehend endpoint names: ≤ 40 characters of ``[a-zA-Z0-9-]``, no leading/trailing dash."""
    short = "clf" if kind is ModelKind.CLASSIFIER else "ner"
    compact = version.lstrip("v").replace("-", "")
    return f"{settings.resource_prefix[:14]}-{short}-{compact}"[:40].strip("-")


def start_endpoint(run: Run, model: ModelState, deps: Deps) -> EndpointState:
    settings, comprehend = deps.settings, deps.comprehend
    active_endpoint = deps.params.get(deps.param(run.kind, ACTIVE_ENDPOINT))
    champion = _champion(run.kind, deps)
    if settings.deployment_strategy is DeploymentStrategy.UPDATE_IN_PLACE and active_endpoint:
        comprehend.update_endpoint(endpoint_arn=active_endpoint, model_arn=model.model_arn)
        return EndpointState(
            endpoint_arn=active_endpoint,
            model_arn=model.model_arn,
            strategy="UPDATE_IN_PLACE",
            created=False,
            previous_endpoint_arn=active_endpoint,
            previous_model_arn=champion[0] if champion else None,
            status="UPDATING",
        )
    arn = comprehend.create_endpoint(
        name=endpoint_name(settings, run.kind, run.version),
        model_arn=model.model_arn,
        units=settings.inference_units,
        tags={"model-version": run.version, "managed-by": settings.resource_prefix},
    )
    deps.registry.update_model(run.kind, run.version, endpoint_arn=arn)
    return EndpointState(
        endpoint_arn=arn,
        model_arn=model.model_arn,
        strategy="NEW_ENDPOINT",
        created=True,
        previous_endpoint_arn=active_endpoint,
        previous_model_arn=champion[0] if champion else None,
    )


def get_endpoint_status(run: Run, endpoint: EndpointState, deps: Deps) -> EndpointState:
    status = deps.comprehend.describe_endpoint(endpoint.endpoint_arn)
    if status.failed:
        raise EndpointFailed(f"{endpoint.endpoint_arn}: FAILED: {status.message}")
    if status.done and status.model_arn == endpoint.model_arn:
        return endpoint.model_copy(update={"status": status.status, "done": True})
    attempt = _next_attempt(endpoint.attempt, deps, f"endpoint {endpoint.endpoint_arn}")
    return endpoint.model_copy(update={"status": status.status, "attempt": attempt})


def promote_model(run: Run, model: ModelState, endpoint: EndpointState, deps: Deps) -> Promotion:
    """Point SSM at the new model and endpoint, and record it in the registry (active / retired)."""
    previous_model = deps.params.get(deps.param(run.kind, ACTIVE_MODEL))
    previous_endpoint = deps.params.get(deps.param(run.kind, ACTIVE_ENDPOINT))
    deps.params.put(
        deps.param(run.kind, ACTIVE_ENDPOINT),
        endpoint.endpoint_arn,
        description=f"endpoint of {run.kind.value} {run.version}",
    )
    deps.params.put(
        deps.param(run.kind, ACTIVE_MODEL),
        model.model_arn,
        description=f"{run.kind.value} {run.version}, dataset {run.dataset.version}",
    )
    deps.registry.update_model(
        run.kind,
        run.version,
        status=ModelStatus.ACTIVE.value,
        endpoint_arn=endpoint.endpoint_arn,
        promoted_at=deps.clock().isoformat(),
    )
    deps.registry.mark_active_dataset(run.kind, run.dataset.version)
    if previous_model and previous_model != model.model_arn:
        old_version = version_of_arn(previous_model)
        if deps.registry.model(run.kind, old_version) is not None:
            deps.registry.set_status(run.kind, old_version, ModelStatus.RETIRED, f"replaced by {run.version}")
    to_delete = None
    if endpoint.created and previous_endpoint and previous_endpoint != endpoint.endpoint_arn:
        to_delete = previous_endpoint
    logger.info(
        "promoted",
        extra={
            "kind": run.kind.value,
            "model_version": run.version,
            "endpoint_arn": endpoint.endpoint_arn,
            "retiring_endpoint": to_delete,
        },
    )
    return Promotion(
        model_arn=model.model_arn,
        endpoint_arn=endpoint.endpoint_arn,
        previous_model_arn=previous_model,
        previous_endpoint_arn=previous_endpoint,
        endpoint_to_delete=to_delete,
    )


def delete_old_endpoint(run: Run, promotion: Promotion, deps: Deps) -> dict[str, Any]:
    if not promotion.endpoint_to_delete:
        return {"deleted": None}
    deleted = deps.comprehend.delete_endpoint(promotion.endpoint_to_delete)
    if promotion.previous_model_arn:
        old_version = version_of_arn(promotion.previous_model_arn)
        if deps.registry.model(run.kind, old_version) is not None:
            deps.registry.update_model(run.kind, old_version, endpoint_arn=None)
    return {"deleted": promotion.endpoint_to_delete, "existed": deleted}


# --- the end of a run ---
def _summary(state: RunState) -> dict[str, Any]:
    run = state.run
    return {
        "kind": run.kind.value,
        "version": run.version,
        "dataset_version": run.dataset.version,
        "documents": run.dataset.documents,
        "execution_id": run.execution_id,
        "model_arn": state.model.model_arn if state.model else None,
        "metric": state.evaluation.metric if state.evaluation else None,
        "challenger_metrics": state.evaluation.challenger if state.evaluation else None,
        "champion_metrics": state.evaluation.champion if state.evaluation else None,
        "champion_version": state.evaluation.champion_version if state.evaluation else None,
        "selection": state.selection.model_dump(mode="json") if state.selection else None,
        "endpoint_arn": state.endpoint.endpoint_arn if state.endpoint else None,
    }


def _count(name: str, kind: ModelKind, value: int = 1) -> None:
    """A CloudWatch metric (EMF, written at once) with the model kind as its dimension."""
    metric = EphemeralMetrics(namespace=METRICS_NAMESPACE)  # its own dimensions, unlike the shared Metrics
    metric.add_dimension(name="ModelKind", value=kind.value)
    metric.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metric.flush_metrics()


def finish_run(state: RunState, deps: Deps) -> RunOutcome:
    """Record a completed run (promoted or rejected), notify, and release the lock of its kind."""
    run = state.run
    try:
        if state.outcome == "rejected":
            reason = state.selection.reason if state.selection else "rejected"
            deps.registry.set_status(run.kind, run.version, ModelStatus.REJECTED, reason)
            outcome = RunOutcome(kind=run.kind, version=run.version, outcome="rejected", reason=reason)
        elif state.outcome == "promoted":
            reason = state.selection.reason if state.selection else "promoted"
            if state.cleanup_error:
                reason += f" (old endpoint not deleted: {state.cleanup_error.reason()})"
            outcome = RunOutcome(kind=run.kind, version=run.version, outcome="promoted", reason=reason)
        else:
            raise InvalidRequest(f"FinishRun needs outcome promoted or rejected, got {state.outcome!r}")
        _count(f"Runs{outcome.outcome.capitalize()}", run.kind)
        deps.notifier.publish(
            f"{run.kind.value} {run.version}: {outcome.outcome}",
            {**_summary(state), "outcome": outcome.outcome, "reason": outcome.reason},
        )
    finally:
        deps.registry.release_lock(run.kind, run.execution_id)
    return outcome


def handle_failure(state: RunState, deps: Deps) -> RunOutcome:
    """Clean up after a failed run: nothing it created is left running, SSM untouched, registry says why."""
    run = state.run
    reason = state.error.reason() if state.error else "unknown error"
    cleanup: list[str] = []

    def attempt(what: str, action: Callable[[], object]) -> None:
        try:
            action()
            cleanup.append(what)
        except (WorkflowError, ValueError) as error:
            cleanup.append(f"{what} failed: {error}")
            logger.warning("cleanup step failed", extra={"step": what, "error": str(error)})

    try:
        active_endpoint = deps.params.get(deps.param(run.kind, ACTIVE_ENDPOINT))
        if state.endpoint and state.endpoint.created and state.endpoint.endpoint_arn != active_endpoint:
            arn = state.endpoint.endpoint_arn
            attempt(f"deleted endpoint {arn}", lambda: deps.comprehend.delete_endpoint(arn))
        if state.model and not state.model.done:
            model_arn = state.model.model_arn
            attempt(f"stopped training {model_arn}", lambda: _stop_training(run.kind, model_arn, deps))
        if deps.registry.model(run.kind, run.version) is None:
            deps.registry.put_model(
                run.kind,
                run.version,
                dataset_version=run.dataset.version,
                execution_id=run.execution_id,
                status=ModelStatus.FAILED.value,
                reason=reason,
            )
        else:
            deps.registry.update_model(
                run.kind, run.version, status=ModelStatus.FAILED.value, reason=reason, cleanup=cleanup
            )
        deps.notifier.publish(
            f"{run.kind.value} {run.version}: failed",
            {**_summary(state), "outcome": "failed", "reason": reason, "cleanup": cleanup},
        )
    finally:
        deps.registry.release_lock(run.kind, run.execution_id)
    logger.error("run failed", extra={"kind": run.kind.value, "model_version": run.version, "reason": reason})
    _count("RunsFailed", run.kind)
    return RunOutcome(kind=run.kind, version=run.version, outcome="failed", reason=reason)


def _stop_training(kind: ModelKind, model_arn: str, deps: Deps) -> None:
    ops = deps.ops(kind)
    try:
        if ops.describe_training(model_arn).status in {"SUBMITTED", "TRAINING"}:
            ops.stop_training(model_arn)
    except ResourceNotFound:
        pass


@lru_cache(maxsize=1)
def default_deps() -> Deps:
    """The adapters of this Lambda process, built once per cold start."""
    return Deps.from_env()
