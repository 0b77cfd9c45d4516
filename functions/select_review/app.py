"""SelectReview (schedule): pick the day's review budget among the buffered uncertain predictions."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.observability import logger, tracer
from comprehend_al.review_selection import select_for_review
from comprehend_al.wiring import select_review_deps


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return select_for_review(select_review_deps()).model_dump(mode="json")
