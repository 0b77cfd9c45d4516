"""FlushLabels (schedule): write whatever the label buffer holds as one training upload under train/new/, and
the entity documents annotation loops accepted (fewer than the batch size) as one entity batch."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.labels import flush_scheduled
from comprehend_al.observability import logger, tracer
from comprehend_al.wiring import label_deps


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return flush_scheduled(label_deps()).as_dict()
