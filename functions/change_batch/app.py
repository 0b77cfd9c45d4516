"""ChangeBatch: readmit a held batch or drop one from the data, under the kind's lock."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.lifecycle import change_batch
from comprehend_al.lines import for_line
from comprehend_al.observability import logger, tracer
from comprehend_al.state import BatchRequest
from comprehend_al.wiring import lifecycle_deps


@logger.inject_lambda_context(correlation_id_path="execution_id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = BatchRequest.model_validate(event["request"])
    logger.append_keys(kind=request.kind.value, batch=request.batch_id)
    result = change_batch(request, str(event["execution_id"]), for_line(lifecycle_deps(), request.line))
    return result.model_dump(mode="json")
