"""Contract: the template's operational security posture (issue 8, invariant 8 on the template side).

Async sources retry and keep what they could not deliver; logs are kept for a bounded time; tables that
hold labels or predictions can be restored; only copies expire from the versioned bucket; every checkov
suppression says why.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.contract.conftest import TEMPLATE, functions_in

DLQ = "DeadLetterQueue"
ASYNC_EVENT_TYPES = {"EventBridgeRule", "Schedule"}
FOURTEEN_DAYS = 14 * 24 * 3600


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _async_events(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(resource, event, properties) of every EventBridge rule and schedule in the template."""
    return [
        (name, event_name, event.get("Properties", {}))
        for name, resource in template["Resources"].items()
        for event_name, event in resource.get("Properties", {}).get("Events", {}).items()
        if event["Type"] in ASYNC_EVENT_TYPES
    ]


def _is_dlq(value: Any) -> bool:
    return value == {"Fn::GetAtt": [DLQ, "Arn"]}


def test_the_template_has_async_sources(template: dict[str, Any]) -> None:
    """Given the template
    When its EventBridge rules and schedules are listed
    Then the three asynchronous sources are there (the tests below check something)."""
    assert sorted(f"{r}.{e}" for r, e, _ in _async_events(template)) == [
        "FlushLabelsFunction.Schedule",
        "ModelLifecycleStateMachine.TrainingDataUploaded",
        "MonitorFunction.Schedule",
        "ProcessReviewFunction.HumanLoopCompleted",
        "ReconcileFunction.ExecutionEnded",
        "ReconcileFunction.Schedule",
        "SelectReviewFunction.Schedule",
    ]


@pytest.mark.parametrize(
    ("source", "event"),
    [
        ("ModelLifecycleStateMachine", "TrainingDataUploaded"),
        ("ProcessReviewFunction", "HumanLoopCompleted"),
        ("FlushLabelsFunction", "Schedule"),
        ("ReconcileFunction", "Schedule"),
        ("ReconcileFunction", "ExecutionEnded"),
        ("MonitorFunction", "Schedule"),
        ("SelectReviewFunction", "Schedule"),
    ],
)
def test_every_rule_target_retries_then_dead_letters(
    template: dict[str, Any], source: str, event: str
) -> None:
    """Given an EventBridge rule or schedule of the template
    When its target cannot be reached
    Then EventBridge retries (RetryPolicy) and then sends the event to the dead-letter queue."""
    [(_, _, props)] = [(r, e, p) for r, e, p in _async_events(template) if (r, e) == (source, event)]
    assert props["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert props["RetryPolicy"]["MaximumEventAgeInSeconds"] >= 3600
    assert _is_dlq(props["DeadLetterConfig"]["Arn"])


def test_functions_invoked_asynchronously_retry_then_dead_letter(template: dict[str, Any]) -> None:
    """Given every function an EventBridge rule or schedule invokes (asynchronous invocation)
    When its handler fails
    Then Lambda retries it and sends the event to the dead-letter queue (EventInvokeConfig OnFailure)."""
    functions = functions_in(template)
    targets = {r for r, _, _ in _async_events(template) if r in functions}
    assert targets == {
        "ProcessReviewFunction",
        "FlushLabelsFunction",
        "ReconcileFunction",
        "MonitorFunction",
        "SelectReviewFunction",
    }
    for name in sorted(targets):
        config = functions[name]["Properties"]["EventInvokeConfig"]
        assert config["MaximumRetryAttempts"] == 2, name
        on_failure = config["DestinationConfig"]["OnFailure"]
        assert on_failure["Type"] == "SQS" and _is_dlq(on_failure["Destination"]), name


def test_dead_letter_queue_is_encrypted_and_keeps_messages_14_days(template: dict[str, Any]) -> None:
    """Given the dead-letter queue
    When its properties are read
    Then it is encrypted and keeps a message 14 days (the most SQS allows)."""
    props = template["Resources"][DLQ]["Properties"]
    assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props
    assert props["MessageRetentionPeriod"] == FOURTEEN_DAYS


def test_only_this_stack_s_rules_may_send_to_the_dead_letter_queue(
    template: dict[str, Any], translated: dict[str, Any]
) -> None:
    """Given the queue policy of the dead-letter queue
    When its Allow statement is read
    Then EventBridge may send only from the stack's three rules, and each of them exists once SAM
    has translated the template."""
    [policy] = _resources(template, "AWS::SQS::QueuePolicy").values()
    [allow] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    rules = [ref["Fn::GetAtt"][0] for ref in allow["Condition"]["ArnEquals"]["aws:SourceArn"]]
    assert sorted(rules) == sorted(_resources(translated, "AWS::Events::Rule"))


def test_every_function_has_a_log_group_with_retention(template: dict[str, Any]) -> None:
    """Given every function
    When the log groups are listed
    Then /aws/lambda/<function> is declared with a retention (Lambda would create it kept forever)."""
    named = {
        str(group["Properties"]["LogGroupName"].get("Fn::Sub", "")): group["Properties"]
        for group in _resources(template, "AWS::Logs::LogGroup").values()
    }
    missing = [
        name
        for name in functions_in(template)
        if "RetentionInDays" not in named.get(f"/aws/lambda/${{{name}}}", {})
    ]
    assert missing == []


def test_http_api_writes_access_logs_to_a_log_group_with_retention(template: dict[str, Any]) -> None:
    """Given the HTTP API
    When its access log settings are read
    Then they name a declared log group with a retention, and the format logs the caller and status."""
    [api] = _resources(template, "AWS::Serverless::HttpApi").values()
    settings = api["Properties"]["AccessLogSettings"]
    group = settings["DestinationArn"]["Fn::GetAtt"][0]
    assert "RetentionInDays" in template["Resources"][group]["Properties"]
    assert all(
        f"$context.{field}" in settings["Format"] for field in ("identity.caller", "status", "routeKey")
    )


@pytest.mark.parametrize(
    "table", ["RegistryTable", "PredictionsTable", "LabelBufferTable", "AnalysisResultsTable"]
)
def test_tables_holding_labels_or_predictions_have_point_in_time_recovery(
    template: dict[str, Any], table: str
) -> None:
    """Given a table that holds labels, predictions or the model registry
    When its properties are read
    Then point-in-time recovery is on."""
    props = template["Resources"][table]["Properties"]
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_every_table_is_listed_above(template: dict[str, Any]) -> None:
    """Given the template's tables
    When they are compared with the list of the test above
    Then none was added without deciding about its recovery."""
    assert sorted(_resources(template, "AWS::DynamoDB::Table")) == sorted(
        ["RegistryTable", "PredictionsTable", "LabelBufferTable", "AnalysisResultsTable"]
    )


def test_noncurrent_versions_expire_only_where_they_are_copies(template: dict[str, Any]) -> None:
    """Given the versioned data bucket's lifecycle rules
    When the rules that expire noncurrent versions are read
    Then they cover train/new/ (every upload there is moved away) and output/ (job output), nothing else."""
    bucket = template["Resources"]["DataBucket"]["Properties"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    expiring = sorted(
        rule["Prefix"]
        for rule in bucket["LifecycleConfiguration"]["Rules"]
        if "NoncurrentVersionExpiration" in rule
    )
    assert expiring == ["output/", "train/new/"]


def test_every_checkov_suppression_gives_a_reason() -> None:
    """Given every checkov suppression in template.yaml
    When its text is read
    Then it names a check and gives a reason after it."""
    suppressions = re.findall(r"#\s*checkov:skip=([^\n]*)", TEMPLATE.read_text())
    assert suppressions
    bad = [s for s in suppressions if not re.fullmatch(r"CKV2?_AWS_\d+:\s*\S.{10,}", s)]
    assert bad == []
