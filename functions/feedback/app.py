"""Feedback: POST /feedback {"prediction_id" | "text", "label"}: the corrected label joins the buffer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.api import error_response, json_response, parse_request
from comprehend_al.feedback import feedback
from comprehend_al.observability import logger, tracer
from comprehend_al.predict import FeedbackRequest
from comprehend_al.wiring import predict_deps

app = APIGatewayHttpResolver()


@app.post("/feedback")
def post_feedback() -> Response[str]:
    request = parse_request(app.current_event.decoded_body, FeedbackRequest)
    return json_response(202, feedback(request, predict_deps()).model_dump(mode="json"))


@app.exception_handler(Exception)
def handle_error(error: Exception) -> Response[str]:
    return error_response(error, "feedback")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
