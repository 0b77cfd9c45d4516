"""The errors of the A2I runtime API, as botocore's service model ``sagemaker-a2i-runtime`` defines them.

Each row of :data:`STATUS_BY_CODE` is a subclass of :class:`A2IError` named after its code, the error code
boto3 reports (``ClientError.response["Error"]["Code"]``), with the HTTP status the model gives it
(``from local.a2i.errors import ValidationException``). The same exceptions are raised by the service's
Python API (:meth:`local.a2i.server.A2IService.complete`), so a caller handles both alike.
"""

from __future__ import annotations

from typing import Any

from local.errors import ServiceError, error_classes, find_error


class A2IError(ServiceError):
    """An error answered to the client as ``x-amzn-ErrorType: <code>`` and ``{"Message": ...}``."""

    code = "A2IError"

    def body(self) -> dict[str, Any]:
        return {"Message": self.message}


STATUS_BY_CODE: dict[str, int] = {
    "ValidationException": 400,
    "ResourceNotFoundException": 404,
    "ConflictException": 409,
    "ServiceQuotaExceededException": 402,
    "ThrottlingException": 429,
    "InternalServerException": 500,
    "UnknownOperationException": 404,  # no operation matches the method and path (not modelled by botocore)
}
"""The A2I runtime's error code → HTTP status."""

ERRORS: dict[str, type[A2IError]] = error_classes(A2IError, STATUS_BY_CODE)


def __getattr__(name: str) -> type[A2IError]:
    return find_error(ERRORS, name, __name__)


def error_for_code(code: str, message: str) -> A2IError:
    """An instance of the error class named ``code`` (KeyError for a code the service does not have)."""
    return ERRORS[code](message)
