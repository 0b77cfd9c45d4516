"""Reconcile (schedule; an execution ended FAILED / TIMED_OUT / ABORTED): clean up what faults left."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.lifecycle import reconcile
from comprehend_al.observability import logger, tracer
from comprehend_al.wiring import lifecycle_deps


@logger.inject_lambda_context(correlation_id_path="detail.executionArn")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return reconcile(event, lifecycle_deps()).model_dump(mode="json")
