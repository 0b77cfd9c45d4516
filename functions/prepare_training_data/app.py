"""PrepareTrainingData: validate and merge pending uploads into new dataset versions, one run per line."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.lifecycle.lines import prepare_lines
from comprehend_al.observability import logger, tracer
from comprehend_al.wiring import lifecycle_deps


@logger.inject_lambda_context(correlation_id_path="execution_id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    execution_id = str(event["execution_id"])
    result = prepare_lines(
        event.get("event") or {}, execution_id, lifecycle_deps(), round_=int(event.get("round", 0))
    )
    return result.model_dump(mode="json")
