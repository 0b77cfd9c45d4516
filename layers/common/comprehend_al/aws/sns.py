"""Outcome notifications (promoted, rejected, failed, quarantined) on an SNS topic."""

from __future__ import annotations

import json
from typing import Any

import boto3

from comprehend_al.aws.errors import aws_call


class Notifier:
    def __init__(self, topic_arn: str, client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self.client = client or (boto3.client("sns") if topic_arn else None)

    def publish(self, subject: str, message: dict[str, Any]) -> None:
        if not self.topic_arn or self.client is None:
            return
        with aws_call("Publish"):
            self.client.publish(
                TopicArn=self.topic_arn,
                Subject=subject[:100],
                Message=json.dumps(message, default=str, indent=2),
                MessageAttributes={
                    "outcome": {"DataType": "String", "StringValue": str(message.get("outcome", "info"))},
                    "kind": {"DataType": "String", "StringValue": str(message.get("kind", "-"))},
                },
            )
