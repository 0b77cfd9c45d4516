"""StartRollback: check the version to bring back and take the kind's lock (``make rollback``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.lifecycle import start_rollback
from comprehend_al.lines import for_line
from comprehend_al.observability import logger, tracer
from comprehend_al.state import RollbackRequest
from comprehend_al.wiring import lifecycle_deps


@logger.inject_lambda_context(correlation_id_path="execution_id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = RollbackRequest.model_validate(event["request"])
    logger.append_keys(kind=request.kind.value, model_version=request.version)
    result = start_rollback(request, str(event["execution_id"]), for_line(lifecycle_deps(), request.line))
    result.run.line = request.line  # the later steps work on the line rolled back
    return result.model_dump(mode="json")
