"""The AWS CLI talks to the local Comprehend service unchanged (``--endpoint-url``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from comprehend_kit import BUCKET, ROLE, rows, to_csv, upload, wait_endpoint, wait_trained

from local.comprehend import ComprehendService

ROOT = Path(__file__).resolve().parents[2]
AWS = Path(os.environ.get("AWS_CLI", ROOT / ".venv-awscli" / "bin" / "aws"))

# `make test` installs the CLI in its own virtualenv; only a bare pytest run outside CI may skip it
pytestmark = pytest.mark.skipif(
    not AWS.exists() and not os.environ.get("CI"),
    reason=f"AWS CLI not installed at {AWS} (make test installs it)",
)


def run_aws(service: ComprehendService, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    return subprocess.run(
        [str(AWS), "comprehend", *args, "--endpoint-url", service.url or "", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def aws(service: ComprehendService, *args: str) -> dict[str, Any]:
    completed = run_aws(service, *args)
    assert completed.returncode == 0, completed.stderr
    return dict(json.loads(completed.stdout))


def test_aws_cli_describes_a_classifier_and_classifies_a_document(
    service: ComprehendService, comprehend: Any, s3: Any
) -> None:
    # Given a trained classifier behind an endpoint
    arn = comprehend.create_document_classifier(
        DocumentClassifierName="cli",
        DataAccessRoleArn=ROLE,
        InputDataConfig={"S3Uri": upload(s3, "cli/train.csv", to_csv(rows(["SPORTS", "COOKING"], 20)))},
        OutputDataConfig={"S3Uri": f"s3://{BUCKET}/cli/out/"},
        LanguageCode="en",
    )["DocumentClassifierArn"]
    wait_trained(comprehend, arn)
    endpoint = comprehend.create_endpoint(EndpointName="cli", ModelArn=arn, DesiredInferenceUnits=1)[
        "EndpointArn"
    ]
    wait_endpoint(comprehend, endpoint)
    # When the AWS CLI describes it and classifies a document
    described = aws(service, "describe-document-classifier", "--document-classifier-arn", arn)
    classified = aws(
        service, "classify-document", "--endpoint-arn", endpoint, "--text", "simmer the sauce in the oven"
    )
    # Then it sees the same resource and scores as boto3
    props = described["DocumentClassifierProperties"]
    assert props["DocumentClassifierArn"] == arn
    assert props["Status"] == "TRAINED"
    assert props["ClassifierMetadata"]["NumberOfLabels"] == 2
    assert [c["Name"] for c in classified["Classes"]] == ["COOKING", "SPORTS"]
    # And errors come back with Comprehend's codes
    failed = run_aws(service, "describe-endpoint", "--endpoint-arn", endpoint + "x")
    assert failed.returncode != 0
    assert "ResourceNotFoundException" in failed.stderr
