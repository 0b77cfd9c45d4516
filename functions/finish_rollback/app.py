"""FinishRollback: record who rolled back to what and why, hold later batches if asked, release the lock."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.lifecycle import finish_rollback
from comprehend_al.lines import for_line
from comprehend_al.observability import logger, tracer
from comprehend_al.state import RollbackState
from comprehend_al.wiring import lifecycle_deps


@logger.inject_lambda_context(correlation_id_path="state.run.execution_id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = RollbackState.model_validate(event["state"])
    logger.append_keys(kind=state.run.kind.value, model_version=state.run.version)
    result = finish_rollback(state, for_line(lifecycle_deps(), state.run.line))
    return result.model_dump(mode="json")
