"""Translation of botocore errors into the workflow's typed errors (the adapter boundary)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from comprehend_al.errors import (
    ComprehendRequestRejected,
    ComprehendThrottled,
    ResourceInUse,
    ResourceLimitExceeded,
    ResourceNotFound,
    ServiceUnavailable,
    WorkflowError,
)

_THROTTLED = {
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
}
_BY_CODE: dict[str, type[WorkflowError]] = {
    "ResourceNotFoundException": ResourceNotFound,
    "ParameterNotFound": ResourceNotFound,
    "NoSuchKey": ResourceNotFound,
    "ExecutionDoesNotExist": ResourceNotFound,
    "404": ResourceNotFound,
    "ResourceInUseException": ResourceInUse,
    "ResourceUnavailableException": ResourceInUse,
    "ConflictException": ResourceInUse,  # A2I: a human loop of that name exists already
    "ResourceLimitExceededException": ResourceLimitExceeded,
    "InternalServerException": ServiceUnavailable,
    "InternalServerError": ServiceUnavailable,
    "ServiceUnavailable": ServiceUnavailable,
    "ServiceUnavailableException": ServiceUnavailable,
}

T = TypeVar("T")


def translate(error: ClientError, action: str) -> WorkflowError:
    """The typed error for a botocore ``ClientError`` (``action`` names what was being done)."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    text = f"{action}: {code}: {message}"
    if code in _THROTTLED:
        return ComprehendThrottled(text)
    if code in _BY_CODE:
        return _BY_CODE[code](text)
    if status >= 500:
        return ServiceUnavailable(text)
    return ComprehendRequestRejected(text)


@contextmanager
def aws_call(action: str) -> Iterator[None]:
    """Run a block of AWS calls, raising typed errors instead of botocore's."""
    try:
        yield
    except ClientError as error:
        raise translate(error, action) from error
    except BotoConnectionError as error:
        raise ServiceUnavailable(f"{action}: {error}") from error
    except BotoCoreError as error:
        raise ServiceUnavailable(f"{action}: {type(error).__name__}: {error}") from error


def call(action: str, fn: Callable[..., T], /, **kwargs: object) -> T:
    """``fn(**kwargs)`` with botocore errors translated."""
    with aws_call(action):
        return fn(**kwargs)
