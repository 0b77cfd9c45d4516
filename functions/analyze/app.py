"""POST /analyze {"text": ...}: entities and classes from the active Comprehend endpoints (HTTP API)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.errors import InvalidRequest
from comprehend_al.inference import InferenceUnavailable, TextTooLarge, analyze_and_record, parse_request
from comprehend_al.observability import logger, tracer
from comprehend_al.wiring import analyzer, recorder

app = APIGatewayHttpResolver()


def _error(status: int, code: str, message: str) -> Response[Any]:
    return Response(status, content_types.APPLICATION_JSON, {"error": code, "message": message})


@app.post("/analyze")
@tracer.capture_method
def analyze() -> dict[str, Any]:
    request = parse_request(app.current_event.decoded_body)
    result = analyze_and_record(request, analyzer(), recorder())
    logger.info(
        "analyzed",
        extra={
            "analysis_id": result.analysis_id,
            "text_bytes": result.text_bytes,
            "entities": len(result.entities.entities) if result.entities else None,
            "classes": len(result.classes.classes) if result.classes else None,
        },
    )
    return result.model_dump(mode="json")


@app.exception_handler(TextTooLarge)
def too_large(error: TextTooLarge) -> Response[Any]:
    return _error(413, "TextTooLarge", str(error))


@app.exception_handler(InvalidRequest)
def invalid(error: InvalidRequest) -> Response[Any]:
    return _error(400, "InvalidRequest", str(error))


@app.exception_handler(InferenceUnavailable)
def unavailable(error: InferenceUnavailable) -> Response[Any]:
    logger.warning("inference unavailable", extra={"error": str(error)})
    return _error(429 if error.throttled else 503, "InferenceUnavailable", str(error))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
