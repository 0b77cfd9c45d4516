"""The HTTP API's shared request and response handling: one way to parse a body, one error shape.

Every route answers errors as ``{"error": {"code", "message", "field"}}`` with the status of
:func:`error_body`; nothing internal leaks into a response, and server-side errors are logged.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import BaseModel, ConfigDict, ValidationError

from comprehend_al.errors import (
    ComprehendThrottled,
    InvalidField,
    InvalidRequest,
    ModelNotReady,
    PredictionNotFound,
    ResourceInUse,
    ServiceUnavailable,
)
from comprehend_al.observability import logger


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


M = TypeVar("M", bound=Request)


def parse_request(body: str | bytes | None, model: type[M]) -> M:
    """A JSON request body validated by ``model``; ``InvalidField`` naming the field otherwise."""
    if body is None or (isinstance(body, str | bytes) and not body.strip()):
        raise InvalidField("the request body must be a JSON object", code="invalid_json")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidField(f"the request body is not valid JSON: {error}", code="invalid_json") from error
    if not isinstance(data, dict):
        raise InvalidField("the request body must be a JSON object", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or None
        raise InvalidField(f"{where}: {first.get('msg')}", field=where) from error


def json_response(status: int, body: Any) -> Response[str]:
    """An API Gateway response with a JSON body."""
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body))


def error_response(error: Exception, operation: str) -> Response[str]:
    """The API's answer to an error (``error_body``); server-side errors are logged, client ones not."""
    status, body = error_body(error)
    if status >= 500:
        logger.exception(f"{operation} failed", extra={"error": type(error).__name__})
    return json_response(status, body)


def error_body(error: Exception) -> tuple[int, dict[str, Any]]:
    """HTTP status and ``{"error": {"code", "message", "field"}}`` for an error (no internals leaked)."""
    if isinstance(error, InvalidField):
        return 400, _error(error.code, str(error), error.field)
    if isinstance(error, PredictionNotFound):
        return 404, _error("prediction_not_found", str(error), "prediction_id")
    if isinstance(error, ModelNotReady):
        return 503, _error("model_not_ready", str(error), None)
    if isinstance(error, InvalidRequest):
        return 400, _error("invalid_request", str(error), None)
    if isinstance(error, ComprehendThrottled):
        return 429, _error("throttled", "too many requests: retry with backoff", None)
    if isinstance(error, ServiceUnavailable | ResourceInUse):
        return 503, _error("service_unavailable", "a service is temporarily unavailable: retry", None)
    return 500, _error("internal_error", "internal error", None)


def _error(code: str, message: str, field_name: str | None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field_name}}
