"""FinishRun and HandleFailure: record the outcome, notify, clean up, release the lock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from comprehend_al.errors import (
    InvalidRequest,
    ResourceNotFound,
    WorkflowError,
)
from comprehend_al.lifecycle.deploy import endpoint_name, retire_others
from comprehend_al.lifecycle.deps import Deps, count
from comprehend_al.lifecycle.lineage import settle
from comprehend_al.models import BatchStatus, ModelKind, ModelStatus
from comprehend_al.observability import logger
from comprehend_al.state import (
    RunOutcome,
    RunState,
)


def waiting_notes(state: RunState, deps: Deps) -> list[str]:
    """ "label 'X': 3 of 50 documents" for each label whose rows wait (kept, not trained)."""
    dataset = state.run.dataset
    if dataset.kind is ModelKind.CLASSIFIER:
        minimum = deps.settings.min_docs_per_label
        return [f"label {k!r}: {n} of {minimum} documents" for k, n in sorted(dataset.waiting.items())]
    return [f"entity type {k!r}: {n} annotations" for k, n in sorted(dataset.waiting.items())]


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


def finish_run(state: RunState, deps: Deps) -> RunOutcome:
    """Record a completed run (promoted or rejected), notify, and release the lock of its kind."""
    run = state.run
    try:
        held: list[str] = []
        if state.outcome == "rejected":
            reason = state.selection.reason if state.selection else "rejected"
            deps.registry.set_status(run.kind, run.version, ModelStatus.REJECTED, reason)
            if state.selection and state.selection.outcome == "worse":
                # the data that made it worse never trains again unless a user readmits it
                held = settle(
                    run.kind,
                    deps,
                    run.dataset.version,
                    BatchStatus.HELD,
                    f"challenger {run.version} lost: {reason}",
                    model_version=run.version,
                )
                reason += f" ({len(held)} new batch(es) held: {', '.join(held)})" if held else ""
            outcome = RunOutcome(kind=run.kind, version=run.version, outcome="rejected", reason=reason)
        elif state.outcome == "promoted":
            reason = state.selection.reason if state.selection else "promoted"
            if state.cleanup_error:
                reason += f" (old endpoint not deleted: {state.cleanup_error.reason()})"
            outcome = RunOutcome(kind=run.kind, version=run.version, outcome="promoted", reason=reason)
        else:
            raise InvalidRequest(f"FinishRun needs outcome promoted or rejected, got {state.outcome!r}")
        count("RunsPromoted" if outcome.outcome == "promoted" else "RunsRejected", run.kind)
        message = {**_summary(state), "outcome": outcome.outcome, "reason": outcome.reason}
        if run.dataset.waiting:
            message["waiting"] = waiting_notes(state, deps)
        if held:
            message["held_batches"] = held
        deps.notifier.publish(f"{run.kind.value} {run.version}: {outcome.outcome}", message)
    finally:
        deps.registry.release_lock(run.kind, run.execution_id)
    return outcome


def handle_failure(state: RunState, deps: Deps) -> RunOutcome:
    """Clean up after a failed run: nothing it created is left running, the pointer untouched, the
    registry says why. A failure *after* promotion (FinishRun, a notification) changes none of that: the
    promoted model serves, so it is neither marked failed nor cleaned up, and the outcome says so."""
    run = state.run
    reason = state.error.reason() if state.error else "unknown error"
    try:
        active = deps.pointers.read(run.kind, fresh=True)
        if state.model is not None and active.model_arn == state.model.model_arn:
            return _failed_after_promotion(state, reason, deps)
        cleanup = _clean_up(state, active.endpoint_arn, deps)
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
        notify(
            deps,
            f"{run.kind.value} {run.version}: failed",
            {**_summary(state), "outcome": "failed", "reason": reason, "cleanup": cleanup},
        )
    finally:
        deps.registry.release_lock(run.kind, run.execution_id)
    logger.error("run failed", extra={"kind": run.kind.value, "model_version": run.version, "reason": reason})
    count("RunsFailed", run.kind)
    return RunOutcome(kind=run.kind, version=run.version, outcome="failed", reason=reason)


def _failed_after_promotion(state: RunState, reason: str, deps: Deps) -> RunOutcome:
    run = state.run
    note = f"promoted; a step after promotion failed: {reason}"
    deps.registry.update_model(run.kind, run.version, status=ModelStatus.ACTIVE.value, reason=note)
    retire_others(run.kind, run.version, deps)  # PromoteModel may have died before it did
    notify(
        deps,
        f"{run.kind.value} {run.version}: promoted",
        {**_summary(state), "outcome": "promoted", "reason": note},
    )
    logger.warning("failure after promotion", extra={"kind": run.kind.value, "model_version": run.version})
    return RunOutcome(kind=run.kind, version=run.version, outcome="promoted", reason=note)


def _clean_up(state: RunState, active_endpoint: str | None, deps: Deps) -> list[str]:
    """Delete the endpoint and stop the training this run made, including ones a crash hid from its state."""
    run, done = state.run, []

    def attempt(what: str, action: Callable[[], object]) -> None:
        try:
            action()
            done.append(what)
        except (WorkflowError, ValueError) as error:
            done.append(f"{what} failed: {error}")
            logger.warning("cleanup step failed", extra={"step": what, "error": str(error)})

    endpoint = state.endpoint.endpoint_arn if state.endpoint and state.endpoint.created else None
    if state.endpoint is None:  # StartEndpoint may have created one and died before it said so
        found = deps.comprehend.find_endpoint(endpoint_name(deps.settings, run.kind, run.version))
        endpoint = found.arn if found else None
    if endpoint and endpoint != active_endpoint:
        attempt(f"deleted endpoint {endpoint}", lambda: deps.comprehend.delete_endpoint(endpoint))
    model_arn = state.model.model_arn if state.model else None
    if model_arn is None:  # StartModelBuilding may have created the training and died
        model_arn = deps.ops(run.kind).find_version(run.model_name, run.version)
    if model_arn and not (state.model and state.model.done):
        arn = model_arn
        attempt(f"stopped training {arn}", lambda: _stop_training(run.kind, arn, deps))
    return done


def notify(deps: Deps, subject: str, message: dict[str, Any]) -> None:
    """Publish, and never fail the cleanup for it (the reconciler reports what a lost message hid)."""
    try:
        deps.notifier.publish(subject, message)
    except WorkflowError as error:
        logger.error("notification not sent", extra={"subject": subject, "error": str(error)})


def preparation_failed(execution_id: str, error: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """PrepareTrainingData failed for good: release whatever this execution holds, and say why."""
    for kind in deps.kinds:
        deps.registry.release_lock(kind, execution_id)
    reason = f"{error.get('Error', 'Error')}: {str(error.get('Cause', ''))[:1000]}"
    notify(
        deps,
        "uploads not prepared: failed",
        {"outcome": "failed", "stage": "prepare", "execution_id": execution_id, "reason": reason},
    )
    logger.error("preparation failed", extra={"execution_id": execution_id, "reason": reason})
    return {"outcome": "preparation_failed", "reason": reason}


def _stop_training(kind: ModelKind, model_arn: str, deps: Deps) -> None:
    ops = deps.ops(kind)
    try:
        if ops.describe_training(model_arn).status in {"SUBMITTED", "TRAINING"}:
            ops.stop_training(model_arn)
    except ResourceNotFound:
        pass
