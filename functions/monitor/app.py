"""Monitor (schedule): drift of live traffic, live accuracy, review backlog, waiting labels, endpoint cost."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.monitor import monitor
from comprehend_al.observability import logger, tracer
from comprehend_al.wiring import monitor_deps


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return monitor(monitor_deps()).model_dump(mode="json")
