"""Comprehend's error codes, raised by operation handlers and rendered as JSON 1.1 error bodies.

botocore's JSON error parser reads ``__type`` (the part after a ``#``, if any) as the error code and
``message`` as the message, so ``client.exceptions.ResourceNotFoundException`` etc. are raised in boto3.
"""

from __future__ import annotations


class ComprehendError(Exception):
    """An error returned to the caller as ``{"__type": code, "message": message}``."""

    code = "InternalServerException"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, str]:
        return {"__type": self.code, "message": self.message}


class InvalidRequestException(ComprehendError):
    code = "InvalidRequestException"


class ResourceNotFoundException(ComprehendError):
    code = "ResourceNotFoundException"


class ResourceInUseException(ComprehendError):
    code = "ResourceInUseException"


class ResourceUnavailableException(ComprehendError):
    code = "ResourceUnavailableException"


class ResourceLimitExceededException(ComprehendError):
    code = "ResourceLimitExceededException"


class TooManyRequestsException(ComprehendError):
    code = "TooManyRequestsException"


class TextSizeLimitExceededException(ComprehendError):
    code = "TextSizeLimitExceededException"


class UnsupportedLanguageException(ComprehendError):
    code = "UnsupportedLanguageException"


class JobNotFoundException(ComprehendError):
    code = "JobNotFoundException"


class TooManyTagsException(ComprehendError):
    code = "TooManyTagsException"


class InternalServerException(ComprehendError):
    code = "InternalServerException"
    status = 500


class UnknownOperationException(ComprehendError):
    code = "UnknownOperationException"


ERRORS_BY_CODE: dict[str, type[ComprehendError]] = {
    cls.code: cls
    for cls in (
        InvalidRequestException,
        ResourceNotFoundException,
        ResourceInUseException,
        ResourceUnavailableException,
        ResourceLimitExceededException,
        TooManyRequestsException,
        TextSizeLimitExceededException,
        UnsupportedLanguageException,
        InternalServerException,
        UnknownOperationException,
        JobNotFoundException,
        TooManyTagsException,
    )
}


def error_for_code(code: str, message: str) -> ComprehendError:
    """An error instance for a Comprehend error code (unknown codes keep their code, status 400)."""
    cls = ERRORS_BY_CODE.get(code)
    if cls is not None:
        return cls(message)
    err = ComprehendError(message)
    err.code = code
    return err
