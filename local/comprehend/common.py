"""Helpers shared by the operation modules: request fields, validation, ARNs, pagination, time, text."""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from local.comprehend.errors import InvalidRequestException, TextSizeLimitExceededException

T = TypeVar("T")

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
ARN_PATTERN = re.compile(
    r"^arn:aws(-[^:]+)?:comprehend:(?P<region>[a-zA-Z0-9-]*):(?P<account>[0-9]{12}):"
    r"(?P<type>[a-zA-Z0-9-]+)/(?P<name>[a-zA-Z0-9](-*[a-zA-Z0-9])*)"
    r"(/version/(?P<version>[a-zA-Z0-9](-*[a-zA-Z0-9])*))?$"
)
MAX_RESULTS_DEFAULT = 100
MAX_RESULTS_LIMIT = 500


def now() -> float:
    """Epoch seconds (the JSON protocol's timestamp format), millisecond precision."""
    return round(time.time(), 3)


def new_id() -> str:
    """A 32-hex-character identifier, like Comprehend's job ids."""
    return uuid.uuid4().hex


def require(request: dict[str, Any], name: str, kind: type = str) -> Any:
    value = request.get(name)
    if value is None or (kind is str and value == ""):
        raise InvalidRequestException(
            f"1 validation error detected: Value null at '{name}' failed to satisfy "
            "constraint: Member must not be null"
        )
    if not isinstance(value, kind):
        raise InvalidRequestException(f"Invalid type for '{name}': expected {kind.__name__}")
    return value


def check_name(value: str, field: str, max_length: int = 63) -> str:
    if not NAME_PATTERN.match(value) or len(value) > max_length:
        raise InvalidRequestException(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member "
            "must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$ "
            f"and have length <= {max_length}"
        )
    return value


def parse_arn(arn: str) -> dict[str, str | None]:
    """``{"region", "account", "type", "name", "version"}`` of a Comprehend ARN."""
    match = ARN_PATTERN.match(arn or "")
    if match is None:
        raise InvalidRequestException(f"Invalid Comprehend ARN: {arn!r}")
    return match.groupdict()


def paginate(items: Sequence[T], request: dict[str, Any]) -> tuple[list[T], str | None]:
    """A page of ``items`` for ``MaxResults`` / ``NextToken``, and the next token (None on the last page)."""
    max_results = request.get("MaxResults", MAX_RESULTS_DEFAULT)
    if not isinstance(max_results, int) or not 1 <= max_results <= MAX_RESULTS_LIMIT:
        raise InvalidRequestException(f"MaxResults must be between 1 and {MAX_RESULTS_LIMIT}")
    start = 0
    token = request.get("NextToken")
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError as exc:
            raise InvalidRequestException("Invalid NextToken") from exc
    page = list(items[start : start + max_results])
    end = start + max_results
    next_token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return page, next_token


def time_filter(value: float | None, before: Any, after: Any) -> bool:
    """True when ``value`` lies strictly between ``after`` and ``before`` (either may be absent)."""
    if value is None:
        return before is None and after is None
    if before is not None and not value < float(before):
        return False
    return not (after is not None and not value > float(after))


def reject_bytes(request: dict[str, Any]) -> None:
    """The real-time operations take plain text only."""
    if request.get("Bytes") is not None:
        raise InvalidRequestException(
            "Semi-structured documents (Bytes) are not supported by the local service"
        )


def check_text(request: dict[str, Any], max_bytes: int) -> str:
    """A real-time request's ``Text``: a non-empty string of at most ``max_bytes`` bytes of UTF-8."""
    text = request.get("Text")
    if not isinstance(text, str) or not text:
        raise InvalidRequestException("Text must be a non-empty string")
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise TextSizeLimitExceededException(
            "Input text size exceeds limit. Max length of request text allowed is "
            f"{max_bytes} bytes while in this request the text size is {size} bytes"
        )
    return text
