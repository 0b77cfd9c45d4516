"""ProcessReview: a completed A2I human loop (EventBridge) → its reviewed labels join the label buffer;
entity and adjudication loops → agreement, gold QC, adjudication, entity batches (docs/annotation.md)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.a2i import process_review
from comprehend_al.observability import logger, tracer
from comprehend_al.wiring import human_review, label_deps


@logger.inject_lambda_context(correlation_id_path="detail.humanLoopName")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_review(event, label_deps(), human_review()).as_dict()
