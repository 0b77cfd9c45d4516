"""Rollback: bring an earlier model version back into service, under the kind's lock, in one command.

Started like any execution (``aws stepfunctions start-execution --input '{"rollback": {...}}'``, wrapped
by ``make rollback``): StartRollback checks the version and takes the kind's lock; the lifecycle's own
steps then bring it into service (StartEndpoint: ``UpdateEndpoint`` on the active endpoint, or a new
endpoint, per the deployment strategy; GetEndpointStatus until IN_SERVICE), PromoteModel switches the
pointer (its only writer) and retires the replaced version, DeleteEndpoint deletes an endpoint it
replaced; FinishRollback records who and why, optionally holds the batches that came after the version,
notifies and releases the lock. A failure (HandleFailure) deletes an endpoint the rollback created and
never un-does a pointer switch that happened.
"""

from __future__ import annotations

from comprehend_al.errors import InvalidRequest, ResourceNotFound, RunInProgress, WorkflowError
from comprehend_al.lifecycle.deploy import endpoint_name
from comprehend_al.lifecycle.deps import Deps
from comprehend_al.models import BatchStatus, ModelStatus
from comprehend_al.observability import logger
from comprehend_al.pointers import version_of_arn
from comprehend_al.state import (
    ModelState,
    RollbackOutcome,
    RollbackRequest,
    RollbackStart,
    RollbackState,
    Run,
)
from comprehend_al.store.dynamo import now_iso
from comprehend_al.store.records import RollbackRecord

SERVABLE = {ModelStatus.RETIRED.value, ModelStatus.REJECTED.value, ModelStatus.TRAINED.value}


def start_rollback(request: RollbackRequest, execution_id: str, deps: Deps) -> RollbackStart:
    """The version to bring back, as a run; the kind's lock taken (``RunInProgress`` when a run has it)."""
    kind = request.kind
    model = deps.registry.model(kind, request.version)
    if model is None or not model.model_arn:
        raise ResourceNotFound(f"{kind.value} version {request.version!r} is not in the registry")
    if model.status not in SERVABLE:
        raise InvalidRequest(
            f"{kind.value} {request.version} is {model.status}: only a trained version can be rolled back to"
        )
    if deps.pointers.model_arn(kind, fresh=True) == model.model_arn:
        raise InvalidRequest(f"{kind.value} {request.version} is already in service")
    dataset = deps.registry.dataset(kind, model.dataset_version) if model.dataset_version else None
    if dataset is None:
        raise ResourceNotFound(
            f"dataset version {model.dataset_version!r} of {request.version} is not recorded"
        )
    if not deps.registry.acquire_lock(kind, execution_id, seconds=deps.settings.lock_seconds):
        raise RunInProgress(
            f"{kind.value}: a run holds the lock ({deps.registry.lock_holder(kind)}); try again"
        )
    run = Run(
        kind=kind,
        version=request.version,
        model_name=deps.settings.model_name(kind),
        dataset=dataset.dataset,
        execution_id=execution_id,
    )
    state = ModelState(model_arn=model.model_arn, version=request.version, status="TRAINED", done=True)
    logger.info("rollback started", extra={"kind": kind.value, "model_version": request.version})
    return RollbackStart(run=run, model=state, request=request)


def finish_rollback(state: RollbackState, deps: Deps) -> RollbackOutcome:
    """Record the rollback (who, why, what it replaced), hold later batches if asked, notify, unlock."""
    run, request = state.run, state.request
    try:
        promotion = state.promotion
        replaced = (
            version_of_arn(promotion.previous_model_arn)
            if promotion and promotion.previous_model_arn
            else None
        )
        why = f"rolled back to {run.version} by {request.by}" + (
            f": {request.reason}" if request.reason else ""
        )
        if replaced and replaced != run.version and deps.registry.model(run.kind, replaced) is not None:
            deps.registry.set_status(run.kind, replaced, ModelStatus.RETIRED, why)
        deps.registry.update_model(run.kind, run.version, reason=why)
        held = _hold_after(state, why, deps) if request.hold_batches_after else []
        record = RollbackRecord(
            kind=run.kind.value,
            version=run.version,
            replaced=replaced,
            by=request.by,
            reason=request.reason,
            execution_id=run.execution_id,
            endpoint_arn=state.endpoint.endpoint_arn if state.endpoint else None,
            held_batches=held,
            at=now_iso(),
        )
        deps.registry.put_rollback(record)
        reason = why + (f"; {len(held)} later batch(es) held" if held else "")
        if state.cleanup_error:
            reason += f" (replaced endpoint not deleted: {state.cleanup_error.reason()})"
        _notify(
            deps,
            f"{run.kind.value} {run.version}: rolled back",
            {**record.model_dump(), "outcome": "rolled_back"},
        )
    finally:
        deps.registry.release_lock(run.kind, run.execution_id)
    return RollbackOutcome(kind=run.kind, version=run.version, outcome="rolled_back", reason=reason)


def rollback_failed(state: RollbackState, deps: Deps) -> RollbackOutcome:
    """Delete an endpoint this rollback created (never the one in service), release the lock, say why."""
    run = state.run
    reason = state.error.reason() if state.error else "unknown error"
    cleanup: list[str] = []
    try:
        active = deps.pointers.read(run.kind, fresh=True)
        endpoint = state.endpoint.endpoint_arn if state.endpoint and state.endpoint.created else None
        if state.endpoint is None:  # StartEndpoint may have created it and died before saying so
            found = deps.comprehend.find_endpoint(endpoint_name(deps.settings, run.kind, run.version))
            endpoint = found.arn if found else None
        if active.model_arn == state.model.model_arn:
            reason = f"rolled back; a step after the pointer switch failed: {reason}"
        elif endpoint and endpoint != active.endpoint_arn:
            try:
                deps.comprehend.delete_endpoint(endpoint)
                cleanup.append(f"deleted endpoint {endpoint}")
            except WorkflowError as error:
                cleanup.append(f"deleting endpoint {endpoint} failed: {error}")
        _notify(
            deps,
            f"{run.kind.value} {run.version}: rollback failed",
            {
                "outcome": "rollback_failed",
                "kind": run.kind.value,
                "version": run.version,
                "reason": reason,
                "by": state.request.by,
                "cleanup": cleanup,
            },
        )
    finally:
        deps.registry.release_lock(run.kind, run.execution_id)
    logger.error(
        "rollback failed", extra={"kind": run.kind.value, "model_version": run.version, "reason": reason}
    )
    return RollbackOutcome(kind=run.kind, version=run.version, outcome="rollback_failed", reason=reason)


def _hold_after(state: RollbackState, why: str, deps: Deps) -> list[str]:
    """Hold every batch the version rolled back to was not trained on (what came after it)."""
    run = state.run
    record = deps.registry.dataset(run.kind, run.dataset.version)
    kept = set(record.batches or []) if record else set()
    held = []
    for batch in deps.registry.batches(run.kind):
        if batch.batch_id not in kept and BatchStatus(batch.status).trains:
            deps.registry.set_batch_status(run.kind, batch, BatchStatus.HELD, why, by=state.request.by)
            held.append(batch.batch_id)
    return held


def _notify(deps: Deps, subject: str, message: dict[str, object]) -> None:
    try:
        deps.notifier.publish(subject, message)
    except WorkflowError as error:
        logger.error("notification not sent", extra={"subject": subject, "error": str(error)})
