"""GuardBatches: hold new batches the champion flatly disagrees with, before any training starts."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.lifecycle.lines import guard_lines
from comprehend_al.lines import for_line
from comprehend_al.observability import logger, tracer
from comprehend_al.state import PrepareResult
from comprehend_al.wiring import lifecycle_deps


@logger.inject_lambda_context(correlation_id_path="execution_id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    prepared = PrepareResult.model_validate(event["prepare"])
    result = guard_lines(prepared, str(event["execution_id"]), lambda line: for_line(lifecycle_deps(), line))
    return result.model_dump(mode="json")
