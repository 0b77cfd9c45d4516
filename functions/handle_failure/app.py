"""HandleFailure: delete what the run created, mark it failed, notify, release the lock."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.lifecycle import handle_failure, rollback_failed
from comprehend_al.lifecycle.lines import preparation_failed_lines
from comprehend_al.lines import for_line
from comprehend_al.observability import logger, tracer
from comprehend_al.state import PreparationFailure, RollbackState, RunState
from comprehend_al.wiring import lifecycle_deps


@logger.inject_lambda_context(correlation_id_path="state.run.execution_id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "preparation" in event:  # PrepareTrainingData failed: no run state exists yet
        failure = PreparationFailure.model_validate(event["preparation"])
        return preparation_failed_lines(
            failure.execution_id,
            failure.error,
            lifecycle_deps(),
            lambda line: for_line(lifecycle_deps(), line),
        )
    if "rollback_state" in event:  # a rollback failed: the version in service is not touched
        rollback = RollbackState.model_validate(event["rollback_state"])
        return rollback_failed(rollback, for_line(lifecycle_deps(), rollback.run.line)).model_dump(
            mode="json"
        )
    state = RunState.model_validate(event["state"])
    logger.append_keys(kind=state.run.kind.value, model_version=state.run.version)
    result = handle_failure(state, for_line(lifecycle_deps(), state.run.line))
    return result.model_dump(mode="json")
