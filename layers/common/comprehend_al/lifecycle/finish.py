"""FinishRun and HandleFailure: record the outcome, notify, clean up, release the lock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from comprehend_al.errors import (
    InvalidRequest,
    ResourceNotFound,
    WorkflowError,
)
from comprehend_al.lifecycle.deps import (
    Deps,
    count,
)
from comprehend_al.models import ModelKind, ModelStatus
from comprehend_al.observability import logger
from comprehend_al.state import (
    RunOutcome,
    RunState,
)


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
        count(f"Runs{outcome.outcome.capitalize()}", run.kind)
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
        active_endpoint = deps.pointers.endpoint_arn(run.kind)
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
    count("RunsFailed", run.kind)
    return RunOutcome(kind=run.kind, version=run.version, outcome="failed", reason=reason)


def _stop_training(kind: ModelKind, model_arn: str, deps: Deps) -> None:
    ops = deps.ops(kind)
    try:
        if ops.describe_training(model_arn).status in {"SUBMITTED", "TRAINING"}:
            ops.stop_training(model_arn)
    except ResourceNotFound:
        pass
