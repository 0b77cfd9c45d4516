"""DynamoDB conversions and conditions shared by every table of the application (one copy of each)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_dynamo(value: Any) -> Any:
    """JSON-compatible value → DynamoDB value (floats as Decimal)."""
    return json.loads(json.dumps(value, default=str), parse_float=Decimal)


def from_dynamo(value: Any) -> Any:
    """DynamoDB value → plain Python (Decimal as int or float, sets as lists)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [from_dynamo(v) for v in value]
    return value


def is_conditional(error: ClientError) -> bool:
    """The write's condition did not hold (another writer won): an outcome, not a failure."""
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def table(name: str, resource: Any | None = None) -> Any:
    """The boto3 Table ``name`` (from ``resource``, or a new DynamoDB resource)."""
    import boto3

    return (resource or boto3.resource("dynamodb")).Table(name)
