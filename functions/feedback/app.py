"""Feedback: POST /feedback {"prediction_id" | "text", "label"}: the corrected label joins the buffer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.api import json_response, parse_event, resolver
from comprehend_al.feedback import FeedbackRequest, feedback
from comprehend_al.observability import logger, tracer
from comprehend_al.wiring import predict_deps

app = resolver("feedback")  # errors: {"error": {"code", "message", "field"}} (comprehend_al.api)


@app.post("/feedback")
def post_feedback() -> Response[str]:
    request = parse_event(app.current_event, FeedbackRequest)
    return json_response(202, feedback(request, predict_deps()).model_dump(mode="json"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
