"""A local Amazon Augmented AI (A2I) runtime for the offline stack: the API boto3 speaks and a review page."""

from local.a2i.errors import (
    A2IError,
    ConflictException,
    InternalServerException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ThrottlingException,
    ValidationException,
)
from local.a2i.server import EVENT_DETAIL_TYPE, EVENT_SOURCE, A2IService

__all__ = [
    "EVENT_DETAIL_TYPE",
    "EVENT_SOURCE",
    "A2IError",
    "A2IService",
    "ConflictException",
    "InternalServerException",
    "ResourceNotFoundException",
    "ServiceQuotaExceededException",
    "ThrottlingException",
    "ValidationException",
]
