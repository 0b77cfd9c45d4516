"""Fixtures for the local Comprehend service: fake AWS credentials, moto S3, a running service."""

from __future__ import annotations

import os

# No test may reach real AWS: fake credentials and a region before boto3 is used anywhere.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_ENDPOINT_URL_COMPREHEND", None)

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
import pytest  # noqa: E402
from comprehend_kit import (  # noqa: E402
    BUCKET,
    REGION,
    ServiceFactory,
    client_for,
)
from comprehend_shapes import output_errors  # noqa: E402
from moto import mock_aws  # noqa: E402

from local.comprehend import ComprehendService  # noqa: E402


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


class Recorder:
    """Every (operation, status, body) the service answered, to check them against botocore's shapes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, dict[str, Any]]] = []

    def wrap(self, service: ComprehendService) -> None:
        original = service.dispatch

        def dispatch(target: str, body: bytes) -> tuple[int, dict[str, Any]]:
            status, payload = original(target, body)
            self.calls.append((target.split(".", 1)[-1], status, payload))
            return status, payload

        service.dispatch = dispatch  # type: ignore[method-assign]

    def problems(self) -> list[str]:
        found: list[str] = []
        for op, status, body in self.calls:
            if status == 200:
                found.extend(f"{op}: {e}" for e in output_errors(op, body))
            elif set(body) != {"__type", "message"}:
                found.append(f"{op}: malformed error body {body}")
        return found


@pytest.fixture
def make_service(s3: Any, tmp_path: Path) -> Iterator[ServiceFactory]:
    """Start services (all checked against botocore's output shapes at teardown)."""
    started: list[ComprehendService] = []
    recorder = Recorder()

    def factory(state_dir: Path | None = None, **kwargs: Any) -> ComprehendService:
        service = ComprehendService(state_dir or tmp_path / "state", **kwargs)
        recorder.wrap(service)
        service.start()
        started.append(service)
        return service

    yield factory
    for service in started:
        service.stop()
    assert recorder.problems() == []


@pytest.fixture
def service(make_service: ServiceFactory) -> ComprehendService:
    return make_service()


@pytest.fixture
def comprehend(service: ComprehendService) -> Any:
    return client_for(service)
