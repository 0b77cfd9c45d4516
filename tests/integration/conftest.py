"""Integration fixtures: the handlers run against moto (S3, DynamoDB, SSM, SNS → SQS) and a fake Comprehend.

Nothing talks to real AWS: fake credentials are set before boto3 is imported, every boto3 call is
answered by moto (``mock_aws``) or by :class:`tests.fakes.FakeComprehend`, and a socket connecting
anywhere but the loopback interface raises.
"""

from __future__ import annotations

import os

# Before boto3 is imported anywhere: fake credentials, a region, no shared config, Powertools quiet.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "comprehend-active-learning",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COMPREHEND"):
    os.environ.pop(_name, None)

import copy  # noqa: E402
import importlib.util  # noqa: E402
import ipaddress  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
import pytest  # noqa: E402
from comprehend_al import wiring  # noqa: E402
from comprehend_al.aws.comprehend import ComprehendClient  # noqa: E402
from comprehend_al.aws.s3 import Bucket  # noqa: E402
from comprehend_al.aws.sns import Notifier  # noqa: E402
from comprehend_al.aws.ssm import ParameterStore  # noqa: E402
from comprehend_al.lifecycle import Deps  # noqa: E402
from comprehend_al.models import ModelKind  # noqa: E402
from comprehend_al.pointers import Active  # noqa: E402
from comprehend_al.store.registry import Registry  # noqa: E402
from moto import mock_aws  # noqa: E402

from local import datagen  # noqa: E402
from local.stack import LambdaContextStub  # noqa: E402
from tests.fakes import ACCOUNT, REGION, FakeComprehend, create_key_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
EVENTS = ROOT / "events"

BUCKET = "comprehend-al-databucket-1q2w3e4r5t6y"  # the bucket the sample events in events/ name
TABLE = "comprehend-al-registry"
TOPIC = "comprehend-al-notifications"
TEST_KEY = "test/classifier/test.csv"

# The environment template.yaml's Globals give every function (offline values where it has parameters).
FUNCTION_ENV = {
    "DATA_BUCKET": BUCKET,
    "REGISTRY_TABLE": TABLE,
    "NOTIFICATION_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC}",
    "PARAMETER_PREFIX": "/comprehend-al",
    "RESOURCE_PREFIX": "comprehend-al",
    "COMPREHEND_DATA_ACCESS_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/comprehend-al-data-access",
    "CLASSIFIER_MODE": "MULTI_CLASS",
    "LABEL_DELIMITER": "|",
    "LANGUAGE_CODE": "en",
    "INFERENCE_UNITS": "1",
    "DEPLOYMENT_STRATEGY": "NEW_ENDPOINT",
    "SELECTION_METRIC": "F1Score",
    "MIN_IMPROVEMENT": "0.0",
    "MAX_POLL_ATTEMPTS": "1440",
    "MIN_DOCS_PER_LABEL": "10",
    "POWERTOOLS_SERVICE_NAME": "comprehend-active-learning",
    "POWERTOOLS_METRICS_NAMESPACE": "ComprehendActiveLearning",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


# --- no network -------------------------------------------------------------------------------------
class NetworkBlocked(RuntimeError):
    """A test tried to open a connection beyond this machine."""


def _loopback(host: Any) -> bool:
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            raise NetworkBlocked(f"integration tests must not leave this machine: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


# --- handlers ----------------------------------------------------------------------------------------
_HANDLERS: dict[str, ModuleType] = {}


def handler_module(function_dir: str) -> ModuleType:
    """``functions/<dir>/app.py`` loaded under its own module name (every handler is called ``app``)."""
    if function_dir not in _HANDLERS:
        path = FUNCTIONS / function_dir / "app.py"
        spec = importlib.util.spec_from_file_location(f"integration_handler_{function_dir}", path)
        assert spec and spec.loader, path
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _HANDLERS[function_dir] = module
    return _HANDLERS[function_dir]


def sample_event(function_dir: str, name: str) -> dict[str, Any]:
    """A sample event from ``events/<function_dir>/<name>`` (a fresh copy each time)."""
    return dict(json.loads((EVENTS / function_dir / name).read_text()))


# --- the stack ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Aws:
    """One moto account per test module, and clients built once (building a boto3 client is slow)."""

    mock: Any
    s3: Any
    ssm: Any
    sqs: Any
    sns: Any
    dynamodb: Any


@dataclass
class Stack:
    """moto resources, the fake Comprehend, the Deps the handlers get, and helpers to look at them."""

    monkeypatch: pytest.MonkeyPatch
    aws: Aws
    queue_url: str
    fake: FakeComprehend
    deps: Deps = field(init=False)
    bucket: str = BUCKET
    test_key: str = TEST_KEY

    def __post_init__(self) -> None:
        self.s3, self.ssm, self.sqs = self.aws.s3, self.aws.ssm, self.aws.sqs
        self.rebuild()

    # configuration
    def rebuild(self) -> None:
        """Deps from the current environment, as a cold start builds them."""
        wiring.reset()
        settings = wiring.settings()
        self.deps = Deps(
            settings,
            Bucket(settings.data_bucket, self.s3),
            Registry(settings.registry_table, self.aws.dynamodb),
            ParameterStore(self.ssm),
            ComprehendClient(self.fake),
            Notifier(settings.topic_arn, self.aws.sns),
        )

    def configure(self, **env: str) -> None:
        """Change function environment variables (e.g. ``DEPLOYMENT_STRATEGY``), then cold-start."""
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        self.rebuild()

    # invocation
    def invoke(self, function_dir: str, event: dict[str, Any]) -> dict[str, Any]:
        """Call the function's handler as Lambda would; its result must survive the JSON of the state."""
        module = handler_module(function_dir)
        self.monkeypatch.setattr(module, "lifecycle_deps", lambda: self.deps)
        context = LambdaContextStub(
            function_name=f"comprehend-al-{function_dir}",
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:comprehend-al-{function_dir}",
        )
        result = module.lambda_handler(copy.deepcopy(event), context)
        assert json.loads(json.dumps(result)) == result, "a handler must return plain JSON"
        return dict(result)

    @staticmethod
    def event(function_dir: str, name: str) -> dict[str, Any]:
        return sample_event(function_dir, name)

    # S3
    def uri(self, key: str) -> str:
        return f"s3://{BUCKET}/{key}"

    def key(self, uri: str) -> str:
        assert uri.startswith(f"s3://{BUCKET}/"), uri
        return uri.removeprefix(f"s3://{BUCKET}/")

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    def get(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def training_data(self, uri: str) -> bytes:
        """What Comprehend trains on for ``uri``: the object it names, or every object under the prefix."""
        key = self.key(uri)
        keys = [k for k in self.keys(key) if k == key or key.endswith("/")]
        return b"".join(self.get(k) for k in keys)

    def keys(self, prefix: str = "") -> list[str]:
        response = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return sorted(item["Key"] for item in response.get("Contents", []))

    def put_test_set(self, tickets: list[datagen.Ticket]) -> None:
        self.put(TEST_KEY, datagen.to_csv(tickets))

    # SSM
    def param(self, name: str) -> str | None:
        """``/comprehend-al/<name>``, or None when it does not exist."""
        try:
            return str(self.ssm.get_parameter(Name=f"/comprehend-al/{name}")["Parameter"]["Value"])
        except self.ssm.exceptions.ParameterNotFound:
            return None

    def active(self, kind: ModelKind = ModelKind.CLASSIFIER) -> Active:
        """The active pointer of ``kind``, read as the functions read it."""
        return self.deps.pointers.read(kind, fresh=True)

    def set_param(self, name: str, value: str) -> None:
        self.ssm.put_parameter(Name=f"/comprehend-al/{name}", Value=value, Type="String", Overwrite=True)

    def params(self) -> dict[str, str]:
        pages = self.ssm.get_paginator("get_parameters_by_path").paginate(Path="/", Recursive=True)
        return {p["Name"]: p["Value"] for page in pages for p in page["Parameters"]}

    # SNS (read back through the subscribed SQS queue)
    def notifications(self) -> list[dict[str, Any]]:
        """Every notification published so far: ``{"subject", "outcome", "message"}``."""
        found: list[dict[str, Any]] = []
        while True:
            response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = response.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                body = json.loads(message["Body"])
                found.append(
                    {
                        "subject": body["Subject"],
                        "outcome": body["MessageAttributes"]["outcome"]["Value"],
                        "message": json.loads(body["Message"]),
                    }
                )
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture(scope="module")
def _aws() -> Iterator[Aws]:
    with mock_aws() as mock:
        session = boto3.Session(region_name=REGION)
        yield Aws(
            mock,
            session.client("s3"),
            session.client("ssm"),
            session.client("sqs"),
            session.client("sns"),
            session.resource("dynamodb"),
        )


@pytest.fixture
def stack(_aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A fresh mocked account: versioned data bucket, registry table, topic (+ a queue to read it)."""
    for name, value in FUNCTION_ENV.items():
        monkeypatch.setenv(name, value)
    _aws.mock.reset()  # every test starts from an empty account
    _aws.s3.create_bucket(Bucket=BUCKET)
    _aws.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    create_key_table(_aws.dynamodb, TABLE)
    topic_arn = _aws.sns.create_topic(Name=TOPIC)["TopicArn"]
    assert topic_arn == FUNCTION_ENV["NOTIFICATION_TOPIC_ARN"]
    queue_url = _aws.sqs.create_queue(QueueName="notifications")["QueueUrl"]
    queue_arn = _aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    _aws.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    yield Stack(monkeypatch, _aws, queue_url, FakeComprehend(_aws.s3))
    wiring.reset()
