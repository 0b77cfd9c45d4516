"""Comprehend's error codes, raised by operation handlers and rendered as JSON 1.1 error bodies.

botocore's JSON error parser reads ``__type`` (the part after a ``#``, if any) as the error code and
``message`` as the message, so ``client.exceptions.ResourceNotFoundException`` etc. are raised in boto3.
Each row of :data:`STATUS_BY_CODE` is a subclass of :class:`ComprehendError` named after its code
(``from local.comprehend.errors import InvalidRequestException``).
"""

from __future__ import annotations

from typing import Any

from local.errors import ServiceError, error_classes, find_error


class ComprehendError(ServiceError):
    """An error returned to the caller as ``{"__type": code, "message": message}``."""

    code = "InternalServerException"

    def body(self) -> dict[str, Any]:
        return {"__type": self.code, "message": self.message}


STATUS_BY_CODE: dict[str, int] = {
    "InvalidRequestException": 400,
    "ResourceNotFoundException": 400,
    "ResourceInUseException": 400,
    "ResourceUnavailableException": 400,
    "ResourceLimitExceededException": 400,
    "TooManyRequestsException": 400,
    "TextSizeLimitExceededException": 400,
    "UnsupportedLanguageException": 400,
    "InternalServerException": 500,
    "UnknownOperationException": 400,
    "JobNotFoundException": 400,
    "TooManyTagsException": 400,
}
"""Comprehend's error code → HTTP status."""

ERRORS_BY_CODE: dict[str, type[ComprehendError]] = error_classes(ComprehendError, STATUS_BY_CODE)


def __getattr__(name: str) -> type[ComprehendError]:
    return find_error(ERRORS_BY_CODE, name, __name__)


def error_for_code(code: str, message: str) -> ComprehendError:
    """An error instance for a Comprehend error code (unknown codes keep their code, status 400)."""
    cls = ERRORS_BY_CODE.get(code) or error_classes(ComprehendError, {code: ComprehendError.status})[code]
    return cls(message)
