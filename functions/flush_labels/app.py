"""FlushLabels (schedule): write whatever the label buffer holds as one training upload under train/new/."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.labels import flush_pending
from comprehend_al.observability import logger, tracer
from comprehend_al.wiring import label_deps


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return flush_pending(label_deps(), min_rows=1).as_dict()
