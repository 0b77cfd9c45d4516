"""Helpers for the local Comprehend tests: a tiny labelled-data generator, polling, S3 archives."""

from __future__ import annotations

import csv
import io
import random
import tarfile
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.comprehend import ComprehendService

REGION = "us-east-1"
ServiceFactory = Callable[..., ComprehendService]
ROLE = "arn:aws:iam::123456789012:role/comprehend-data-access"

BUCKET = "comprehend-local-tests"

VOCABULARY = {
    "SPORTS": "match goal striker coach league season referee stadium penalty tournament team score",
    "FINANCE": "bank loan interest market shares investor dividend profit budget credit stock bond",
    "COOKING": "recipe oven flour butter garlic simmer sauce bake onion pepper dough spice",
    "TRAVEL": "flight hotel passport luggage beach museum itinerary visa airport tour ticket cruise",
}
FILLER = "the a of and to in with for on this that was is at"


def document(label: str, rng: random.Random, words: int = 12) -> str:
    vocab = VOCABULARY[label].split()
    tokens = [rng.choice(vocab) if rng.random() < 0.6 else rng.choice(FILLER.split()) for _ in range(words)]
    return " ".join(tokens).capitalize() + ", really."  # a comma, so that CSV quoting is exercised


def rows(labels: list[str], per_label: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = [(label, document(label, rng)) for label in labels for _ in range(per_label)]
    rng.shuffle(out)
    return out


def multi_label_rows(labels: list[str], count: int, seed: int = 0) -> list[tuple[list[str], str]]:
    """Documents about one or two of ``labels`` (their words mixed)."""
    rng = random.Random(seed)
    out: list[tuple[list[str], str]] = []
    for i in range(count):
        first = labels[i % len(labels)]
        chosen = [first] if rng.random() < 0.5 else sorted({first, rng.choice(labels)})
        words = [w for label in chosen for w in document(label, rng, 10).removesuffix(", really.").split()]
        rng.shuffle(words)
        out.append((chosen, " ".join(words)))
    return out


def to_csv(records: list[tuple[Any, str]], delimiter: str = "|") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for label, text in records:
        writer.writerow([delimiter.join(label) if isinstance(label, list) else label, text])
    return buffer.getvalue().encode("utf-8")


def upload(s3: Any, key: str, body: bytes) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def client_for(service: ComprehendService) -> Any:
    return boto3.client("comprehend", region_name=REGION, endpoint_url=service.url)


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30) -> Any:
    """Poll ``read()`` until ``done(value)``; returns the last value (fails the test on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting; last value: {value}")
        time.sleep(0.02)


def classifier_status(comprehend: Any, arn: str) -> dict[str, Any]:
    return dict(
        comprehend.describe_document_classifier(DocumentClassifierArn=arn)["DocumentClassifierProperties"]
    )


def wait_trained(comprehend: Any, arn: str) -> dict[str, Any]:
    props = wait_for(
        lambda: classifier_status(comprehend, arn),
        lambda p: p["Status"] not in ("SUBMITTED", "TRAINING"),
    )
    assert props["Status"] == "TRAINED", props.get("Message")
    return props


def wait_endpoint(comprehend: Any, arn: str, status: str = "IN_SERVICE") -> dict[str, Any]:
    return dict(
        wait_for(
            lambda: comprehend.describe_endpoint(EndpointArn=arn)["EndpointProperties"],
            lambda p: p["Status"] not in ("CREATING", "UPDATING"),
        )
    )


def read_tar(s3: Any, uri: str) -> dict[str, bytes]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
