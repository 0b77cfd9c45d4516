"""Reconcile: after any fault, make Comprehend, the registry and the locks agree with the active pointer.

Runs on a schedule and whenever an execution of the lifecycle ends ``FAILED``, ``TIMED_OUT`` or
``ABORTED`` (EventBridge). What it does, each time, against what the state machine says is running:

* **Locks.** A kind's lock held by an execution that is no longer running is released.
* **Registry.** A version still ``training`` / ``trained`` whose execution ended is marked ``failed``.
* **Trainings.** A training of our models still running for no running execution is stopped.
* **Endpoints.** An endpoint serving one of our models that neither a pointer names nor a running
  execution is deploying is deleted (this also retries deletes that failed before).
* **Uploads.** Uploads waiting under ``train/new/`` with no execution running start one.

Then it notifies what it did, and why an execution that ended badly ended so. Every action is
idempotent: two reconcilers racing do the same things twice, harmlessly.
"""

from __future__ import annotations

import posixpath
from typing import Any

from pydantic import BaseModel, Field

from comprehend_al.aws.stepfunctions import Executions
from comprehend_al.errors import ResourceNotFound, WorkflowError
from comprehend_al.lifecycle.deploy import endpoint_name
from comprehend_al.lifecycle.deps import Deps
from comprehend_al.lifecycle.finish import notify
from comprehend_al.models import ModelKind, ModelStatus
from comprehend_al.observability import logger

ENDED_BADLY = {"FAILED", "TIMED_OUT", "ABORTED"}
UNDECIDED = {ModelStatus.TRAINING.value, ModelStatus.TRAINED.value}


class ReconcileReport(BaseModel):
    execution: dict[str, str] | None = None  # the execution whose end triggered this run, if any
    locks_released: list[str] = Field(default_factory=list)
    versions_failed: list[str] = Field(default_factory=list)
    trainings_stopped: list[str] = Field(default_factory=list)
    endpoints_deleted: list[str] = Field(default_factory=list)
    executions_started: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)  # actions that failed (the next run retries them)

    @property
    def acted(self) -> bool:
        return any(
            (
                self.locks_released,
                self.versions_failed,
                self.trainings_stopped,
                self.endpoints_deleted,
                self.executions_started,
                self.problems,
            )
        )


def reconcile(event: dict[str, Any], deps: Deps) -> ReconcileReport:
    if deps.executions is None:
        raise WorkflowError("the reconciler needs STATE_MACHINE_ARN")
    executions, report = deps.executions, ReconcileReport()
    ended = _ended_execution(event, executions)
    if ended:
        report.execution = ended
    running = executions.running()
    alive = _Liveness(executions, running)
    for kind in deps.kinds:
        _release_dead_lock(kind, alive, deps, report)
        _fail_dead_versions(kind, alive, deps, report)
        _stop_dead_trainings(kind, alive, deps, report)
    _delete_orphan_endpoints(alive, deps, report)
    if not running:
        _restart_pending_uploads(executions, deps, report)
    if ended and ended["status"] in ENDED_BADLY:
        # the execution ended without FinishRun / HandleFailure saying so (stopped, timed out, or they died)
        reason = f"execution {ended['status']}: {ended['error'] or 'no error'}: {ended['cause'][:500]}"
        message = {"outcome": "failed", "stage": "execution", "reason": reason}
        notify(deps, f"execution {ended['status'].lower()}", {**message, **report.model_dump(mode="json")})
    elif report.acted:
        notify(deps, "reconciler: cleaned up", {"outcome": "reconciled", **report.model_dump(mode="json")})
    logger.info("reconciled", extra=report.model_dump(mode="json"))
    return report


class _Liveness:
    """Whether an execution still runs (ListExecutions once, DescribeExecution for the rest)."""

    def __init__(self, executions: Executions, running: set[str]) -> None:
        self.executions = executions
        self.known = {arn: True for arn in running}

    def __call__(self, execution_arn: str | None) -> bool:
        if not execution_arn:
            return False
        if execution_arn not in self.known:
            self.known[execution_arn] = self.executions.describe(execution_arn).running
        return self.known[execution_arn]


def _ended_execution(event: dict[str, Any], executions: Executions) -> dict[str, str] | None:
    detail = event.get("detail") or {}
    arn = detail.get("executionArn")
    if event.get("detail-type") != "Step Functions Execution Status Change" or not arn:
        return None
    execution = executions.describe(str(arn))
    return {
        "arn": execution.arn,
        "status": execution.status,
        "error": execution.error,
        "cause": execution.cause,
    }


def _attempt(report: ReconcileReport, what: str, action: Any) -> bool:
    try:
        action()
    except (WorkflowError, ValueError) as error:
        report.problems.append(f"{what}: {error}")
        logger.warning("reconcile step failed", extra={"step": what, "error": str(error)})
        return False
    return True


def _release_dead_lock(kind: ModelKind, alive: _Liveness, deps: Deps, report: ReconcileReport) -> None:
    holder = deps.registry.lock_holder(kind)
    if not holder or alive(holder):
        return
    if _attempt(report, f"release {kind.value} lock", lambda: deps.registry.release_lock(kind, holder)):
        report.locks_released.append(f"{kind.value}: {holder}")


def _fail_dead_versions(kind: ModelKind, alive: _Liveness, deps: Deps, report: ReconcileReport) -> None:
    for model in deps.registry.models(kind):
        if model.status in UNDECIDED and model.execution_id and not alive(model.execution_id):
            reason = f"its execution ended before a decision: {model.execution_id}"
            deps.registry.set_status(kind, model.version, ModelStatus.FAILED, reason)
            report.versions_failed.append(f"{kind.value}/{model.version}")


def _stop_dead_trainings(kind: ModelKind, alive: _Liveness, deps: Deps, report: ReconcileReport) -> None:
    ops = deps.ops(kind)
    for version in ops.versions(deps.settings.model_name(kind)):
        if not version.training:
            continue
        record = deps.registry.model(kind, version.version)
        if record and alive(record.execution_id):
            continue
        if _attempt(report, f"stop training {version.arn}", lambda arn=version.arn: ops.stop_training(arn)):
            report.trainings_stopped.append(version.arn)


def _delete_orphan_endpoints(alive: _Liveness, deps: Deps, report: ReconcileReport) -> None:
    settings = deps.settings
    pointed = {deps.pointers.read(kind, fresh=True).endpoint_arn for kind in deps.kinds}
    deploying = {
        endpoint_name(settings, kind, model.version)
        for kind in deps.kinds
        for model in deps.registry.models(kind)
        if model.status in UNDECIDED and alive(model.execution_id)  # a run deploys a trained version
    }
    ours = tuple(f"/{settings.model_name(kind)}/version/" for kind in deps.kinds)
    for endpoint in deps.comprehend.endpoints():
        if not any(marker in endpoint.model_arn for marker in ours):
            continue  # not serving one of this stack's models
        if endpoint.arn in pointed or endpoint.name in deploying or endpoint.status == "DELETING":
            continue
        action = lambda arn=endpoint.arn: deps.comprehend.delete_endpoint(arn)  # noqa: E731
        if _attempt(report, f"delete endpoint {endpoint.arn}", action):
            report.endpoints_deleted.append(endpoint.arn)


def _restart_pending_uploads(executions: Executions, deps: Deps, report: ReconcileReport) -> None:
    prefix = deps.settings.upload_prefix
    pending = [i for i in deps.bucket.list(prefix) if not i.key.endswith("/")]
    waiting = False
    rest = pending
    for data in deps.kinds.values():
        uploads, rest = data.claim(rest)
        waiting = waiting or bool(uploads)
    unknown = [i for i in rest if posixpath.basename(i.key) not in {"documents.txt", "annotations.csv"}]
    if waiting or unknown:
        try:
            report.executions_started.append(executions.start({}))
        except (WorkflowError, ResourceNotFound) as error:
            report.problems.append(f"start an execution for pending uploads: {error}")
