"""Step Functions: the executions of the model lifecycle, as the reconciler sees them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import boto3

from comprehend_al.aws.errors import aws_call
from comprehend_al.errors import ResourceNotFound


@dataclass(frozen=True)
class Execution:
    arn: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED (| PENDING_REDRIVE)
    error: str = ""
    cause: str = ""

    @property
    def running(self) -> bool:
        return self.status == "RUNNING"


class Executions:
    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self.client = client or boto3.client("stepfunctions")

    def running(self) -> set[str]:
        """ARNs of the executions running now."""
        found: set[str] = set()
        kwargs: dict[str, Any] = {"stateMachineArn": self.state_machine_arn, "statusFilter": "RUNNING"}
        while True:
            with aws_call("ListExecutions"):
                page = self.client.list_executions(**kwargs)
            found.update(str(e["executionArn"]) for e in page.get("executions", []))
            if not page.get("nextToken"):
                return found
            kwargs["nextToken"] = page["nextToken"]

    def describe(self, execution_arn: str) -> Execution:
        """The execution; one that does not exist (any more) reads as ended (``ABORTED``)."""
        try:
            with aws_call(f"DescribeExecution {execution_arn}"):
                response = self.client.describe_execution(executionArn=execution_arn)
        except ResourceNotFound:
            return Execution(execution_arn, "ABORTED", "ExecutionDoesNotExist")
        return Execution(
            execution_arn,
            str(response["status"]),
            str(response.get("error", "")),
            str(response.get("cause", ""))[:1000],
        )

    def start(self, payload: dict[str, Any], *, prefix: str = "reconcile") -> str:
        with aws_call("StartExecution"):
            response = self.client.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=f"{prefix}-{uuid.uuid4().hex}",
                input=json.dumps(payload),
            )
        return str(response["executionArn"])
