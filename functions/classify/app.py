"""Classify: POST /classify {"text"} → label, scores, model version, review decision (HTTP API, IAM auth)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.observability import logger, tracer
from comprehend_al.predict import ClassifyRequest, classify, error_body, parse_request

app = APIGatewayHttpResolver()


@app.post("/classify")
def post_classify() -> Response[str]:
    request = parse_request(app.current_event.decoded_body, ClassifyRequest)
    return Response(
        200, content_types.APPLICATION_JSON, json.dumps(classify(request).model_dump(mode="json"))
    )


@app.exception_handler(Exception)
def handle_error(error: Exception) -> Response[str]:
    status, body = error_body(error)
    if status >= 500:
        logger.exception("classify failed", extra={"error": type(error).__name__})
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
