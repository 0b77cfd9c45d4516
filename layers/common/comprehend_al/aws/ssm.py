"""SSM Parameter Store: where the active model and endpoint ARNs and the selection metric live."""

from __future__ import annotations

from typing import Any

import boto3

from comprehend_al.aws.errors import aws_call
from comprehend_al.errors import ResourceNotFound


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
