"""The HTTP API's shared request and response handling: one way to parse a body, one error shape.

Every route (``/classify``, ``/feedback``, ``/analyze``) answers errors as
``{"error": {"code", "message", "field"}}`` with the status of :func:`error_body`; nothing internal leaks
into a response, and server-side errors are logged. :func:`resolver` builds a route's Powertools resolver
with that error handling installed, so no exception leaves a handler.

A request body is checked before it is trusted (:mod:`comprehend_al.json_body`: size, base64, UTF-8,
nesting, JSON, numbers, surrogates), then validated by the route's pydantic model: strict types, no missing
or extra field (400 ``invalid_request`` with ``field``).

Casing of the responses: what the API defines is snake_case (``prediction_id``, ``model_version``,
``text_bytes``, ``error.code``); an item relayed from Comprehend keeps Comprehend's casing, as
``ClassifyDocument`` and ``DetectEntities`` return it: classes ``{Name, Score}``, entities
``{Text, Type, BeginOffset, EndOffset, Score}``.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import BaseModel, ConfigDict, ValidationError

from comprehend_al.errors import (
    ComprehendThrottled,
    InvalidField,
    InvalidRequest,
    ModelNotReady,
    PredictionNotFound,
    ResourceInUse,
    ServiceUnavailable,
    TextTooLarge,
)
from comprehend_al.json_body import event_body, load_json, shown_name
from comprehend_al.observability import logger


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


M = TypeVar("M", bound=Request)


# --- requests -------------------------------------------------------------------------------------------
def parse_event(event: BaseProxyEvent, model: type[M]) -> M:
    """The request of an API Gateway event (its body base64-decoded when flagged), validated by ``model``."""
    return parse_request(event_body(event), model)


def parse_request(body: str | bytes | None, model: type[M]) -> M:
    """A JSON request body validated by ``model``; ``InvalidField`` naming the field otherwise."""
    return validate(load_json(body), model)


def validate(data: dict[str, Any], model: type[M]) -> M:
    """``model`` from a parsed body; the first problem as ``InvalidField`` naming its top-level field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        loc = first.get("loc", ())
        where = shown_name(str(loc[0])) if loc else None
        message = str(first.get("msg", "invalid value"))
        if first.get("type") == "extra_forbidden":
            message = f"unknown field: expected {', '.join(sorted(model.model_fields))}"
        raise InvalidField(f"{where}: {message}" if where else message, field=where) from error


def check_text(text: str, max_bytes: int, field_name: str = "text") -> str:
    """A document text: not blank (``empty_text``), at most ``max_bytes`` of UTF-8 (``text_too_large``)."""
    if not text.strip():
        raise InvalidField(f"{field_name} must not be empty", field=field_name, code="empty_text")
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise TextTooLarge(
            f"{field_name} is {size} bytes of UTF-8; the limit is {max_bytes}", field=field_name
        )
    return text


# --- responses ------------------------------------------------------------------------------------------
STATUS: dict[str, int] = {  # every error code of the API and its HTTP status (the README's table)
    "invalid_json": 400,
    "invalid_request": 400,
    "empty_text": 400,
    "unknown_label": 400,
    "text_not_retained": 400,
    "not_found": 404,
    "prediction_not_found": 404,
    "body_too_large": 413,
    "text_too_large": 413,
    "unsupported_language": 422,
    "throttled": 429,
    "internal_error": 500,
    "model_not_ready": 503,
    "service_unavailable": 503,
}


def json_response(status: int, body: Any) -> Response[str]:
    """An API Gateway response with a JSON body."""
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body))


def error_response(error: Exception, operation: str) -> Response[str]:
    """The API's answer to an error (``error_body``); server-side errors are logged, client ones not."""
    status, body = error_body(error)
    if status >= 500:
        logger.exception(f"{operation} failed", extra={"error": type(error).__name__})
    elif status == 429:
        logger.warning(f"{operation} throttled", extra={"error": type(error).__name__})
    return json_response(status, body)


def error_body(error: Exception) -> tuple[int, dict[str, Any]]:
    """HTTP status and ``{"error": {"code", "message", "field"}}`` for an error (no internals leaked)."""
    if isinstance(error, InvalidField):
        return _error(error.code if error.code in STATUS else "invalid_request", str(error), error.field)
    if isinstance(error, PredictionNotFound):
        return _error("prediction_not_found", str(error), "prediction_id")
    if isinstance(error, ModelNotReady):
        return _error("model_not_ready", str(error), None)
    if isinstance(error, InvalidRequest):
        return _error("invalid_request", str(error), None)
    if isinstance(error, ComprehendThrottled):
        return _error("throttled", "too many requests: retry with backoff", None)
    if isinstance(error, ServiceUnavailable | ResourceInUse):
        return _error("service_unavailable", "a service is temporarily unavailable: retry", None)
    return _error("internal_error", "internal error", None)


def _error(code: str, message: str, field_name: str | None) -> tuple[int, dict[str, Any]]:
    return STATUS[code], {"error": {"code": code, "message": message, "field": field_name}}


def resolver(operation: str) -> APIGatewayHttpResolver:
    """A route's resolver: every exception becomes :func:`error_response`, an unknown path a 404."""
    app = APIGatewayHttpResolver()

    @app.exception_handler(Exception)
    def handle_error(error: Exception) -> Response[str]:
        return error_response(error, operation)

    @app.not_found
    def not_found(error: Exception) -> Response[str]:
        return json_response(*_error("not_found", f"no route {app.current_event.path}", None))

    return app
