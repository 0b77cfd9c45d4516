"""The errors of the A2I runtime API, as botocore's service model ``sagemaker-a2i-runtime`` defines them.

Each class name is the error code boto3 reports (``ClientError.response["Error"]["Code"]``) and
``status`` the HTTP status the model gives it. The same exceptions are raised by the service's Python
API (:meth:`local.a2i.server.A2IService.complete`), so a caller handles both alike.
"""

from __future__ import annotations

from typing import Any


class A2IError(Exception):
    """An error answered to the client as ``x-amzn-ErrorType: <code>`` and ``{"Message": ...}``."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__

    def body(self) -> dict[str, Any]:
        return {"Message": self.message}


class ValidationException(A2IError):
    status = 400


class ResourceNotFoundException(A2IError):
    status = 404


class ConflictException(A2IError):
    status = 409


class ServiceQuotaExceededException(A2IError):
    status = 402


class ThrottlingException(A2IError):
    status = 429


class InternalServerException(A2IError):
    status = 500


class UnknownOperationException(A2IError):
    """No operation of the service matches the request's method and path (not modelled by botocore)."""

    status = 404


ERRORS: dict[str, type[A2IError]] = {
    cls.__name__: cls
    for cls in (
        ValidationException,
        ResourceNotFoundException,
        ConflictException,
        ServiceQuotaExceededException,
        ThrottlingException,
        InternalServerException,
        UnknownOperationException,
    )
}


def error_for_code(code: str, message: str) -> A2IError:
    """An instance of the error class named ``code`` (KeyError for a code the service does not have)."""
    return ERRORS[code](message)
