"""SSM Parameter Store: where the active model and endpoint ARNs and the tunables live.

Two readers, one per need: :class:`ParameterStore` for the workflow (never cached: a promotion must see
the live pointers, and it writes them), :class:`CachedParameters` for the request path (Powertools
``parameters`` with a cache age, so a promotion reaches every warm Lambda within ``max_age`` seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from comprehend_al.aws.errors import aws_call, translate
from comprehend_al.errors import ResourceNotFound, ServiceUnavailable
from comprehend_al.observability import logger


class ParameterStore:
    """Reads for the workflow are never cached: a promotion must see the live pointers."""

    def __init__(self, client: Any | None = None) -> None:
        self.client = client or boto3.client("ssm")

    def get(self, name: str) -> str | None:
        """The parameter's value, or ``None`` when it does not exist (or holds the placeholder ``none``)."""
        try:
            with aws_call(f"GetParameter {name}"):
                value = str(self.client.get_parameter(Name=name)["Parameter"]["Value"])
        except ResourceNotFound:
            return None
        return None if value.strip().lower() in {"", "none"} else value

    def put(self, name: str, value: str, *, description: str = "") -> None:
        with aws_call(f"PutParameter {name}"):
            self.client.put_parameter(
                Name=name, Value=value, Type="String", Overwrite=True, Description=description[:1024]
            )


Fetch = Callable[[str, int, bool], str]


def _powertools_fetch(name: str, max_age: int, force: bool) -> str:
    return str(parameters.get_parameter(name, max_age=max_age, force_fetch=force))


class CachedParameters:
    """Values under the SSM prefix, cached ``max_age`` seconds by Powertools (``force`` refetches).

    A missing parameter (or the placeholder ``none``) reads as ``None``; any other failure is a typed
    error: an SSM outage must not look like "review turned off".
    """

    def __init__(self, prefix: str, max_age: int = 60, fetch: Fetch = _powertools_fetch) -> None:
        self.prefix = prefix.rstrip("/")
        self.max_age = max_age
        self.fetch = fetch

    def name(self, relative: str) -> str:
        return f"{self.prefix}/{relative}"

    def get(self, relative: str, *, force: bool = False) -> str | None:
        try:
            value = self.fetch(self.name(relative), self.max_age, force)
        except GetParameterError as error:
            cause = error.__cause__ or error.__context__
            if isinstance(cause, ClientError):
                if cause.response.get("Error", {}).get("Code") == "ParameterNotFound":
                    return None
                raise translate(cause, f"GetParameter {self.name(relative)}") from error
            raise ServiceUnavailable(f"GetParameter {self.name(relative)}: {error}") from error
        return None if value.strip().lower() in {"", "none"} else value.strip()

    def get_int(self, relative: str, default: int) -> int:
        value = self.get(relative)
        try:
            return int(value) if value is not None else default
        except ValueError:
            logger.warning("parameter is not an integer: default used", extra={"parameter": relative})
            return default
