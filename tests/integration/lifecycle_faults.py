"""Faults for the offline stack's lifecycle runs, and the invariants a run must leave behind (issue 8).

Fault injection, three ways:

* the router (``local.stack.LambdaRouter.fail_next``): a Lambda crashes before its handler runs, or
  after it ran (``after=True``: its side effects happened, its result is lost);
* :class:`CallFaults`: one AWS call made *inside one function's invocation* is answered with a throttling
  or a non-retryable error, by a botocore ``before-call`` handler (no SDK retry: the step sees the error
  at once, as it would after the SDK's attempts are spent); calls made by anything else (the test, the
  local Comprehend service's threads) are never touched;
* :class:`Probe`: ``StopExecution`` while a Lambda runs, or the execution timed out there. Moto only
  times an execution out when ``TimeoutSeconds`` elapses (a day here), so the time-out is emulated with
  the very call moto's ``Program.eval`` makes when it does: ``Environment.set_timed_out()``. The status
  becomes TIMED_OUT and moto records ``ExecutionTimedOut``; the Lambda that was running finishes, as on AWS.

The invariants read SSM (through :class:`comprehend_al.pointers.Pointers`, never a spelt key), the
registry, the local Comprehend service, S3 and the notifications (SNS → an SQS queue) into
:class:`Facts`; each ``invariant_*`` function returns the problems it finds (``[]``: it holds).
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.handlers
from botocore.awsrequest import AWSResponse, HTTPHeaders
from comprehend_al.aws.ssm import ParameterStore
from comprehend_al.models import ModelKind
from comprehend_al.pointers import Active, Pointers, PrefixedStore
from comprehend_al.store.records import ModelRecord
from comprehend_al.store.registry import Registry

from local.stack import ACCOUNT, REGION, Offline

CLF = ModelKind.CLASSIFIER
RECONCILER = "ReconcileFunction"
IN_PROGRESS_TRAINING = {"SUBMITTED", "TRAINING", "STOP_REQUESTED"}
SETTLING_ENDPOINT = {"CREATING", "UPDATING"}
LIVE_RECORD = {"training", "trained"}  # a registry status only a running execution may leave

Row = tuple[str, ...]


# --- AWS calls failing inside one invocation ---------------------------------------------------------
THROTTLING = {  # service → (error code, HTTP status) it throttles with
    "s3": ("SlowDown", 503),
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
    "ssm": ("ThrottlingException", 400),
    "sns": ("Throttling", 400),
    "comprehend": ("TooManyRequestsException", 400),
}
DENIED = {"s3": ("AccessDenied", 403)}  # others: AccessDeniedException, 400 (an IAM or SCP refusal)


@dataclass
class CallFault:
    """``operation`` (``"<service>.<Operation>"``, or ``"*"`` for any call) fails during the next
    invocation of ``function``; with ``after``, only once that call has been made in the same invocation."""

    function: str
    operation: str
    throttle: bool
    after: str | None = None
    fired: list[str] = field(default_factory=list)

    def response(self, service: str, url: str) -> tuple[AWSResponse, dict[str, Any]]:
        code, status = (
            THROTTLING.get(service, ("ThrottlingException", 400))
            if self.throttle
            else DENIED.get(service, ("AccessDeniedException", 400))
        )
        parsed = {
            "Error": {"Code": code, "Message": f"injected by the fault matrix ({code})"},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "fault-matrix", "HTTPHeaders": {}},
        }
        return AWSResponse(url, status, HTTPHeaders(), None), parsed


class CallFaults:
    """Which function each thread is running (from the router's hooks) and the call faults armed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, str] = {}
        self._calls: dict[int, list[str]] = {}
        self.armed: list[CallFault] = []

    def entered(self, function: str) -> None:
        with self._lock:
            self._running[threading.get_ident()] = function
            self._calls[threading.get_ident()] = []

    def left(self) -> None:
        with self._lock:
            self._running.pop(threading.get_ident(), None)
            self._calls.pop(threading.get_ident(), None)

    def check(self, event_name: str, url: str) -> tuple[AWSResponse, dict[str, Any]] | None:
        _, service, operation = [*event_name.split("."), "", ""][:3]
        name = f"{service}.{operation}"
        ident = threading.get_ident()
        with self._lock:
            function = self._running.get(ident)
            if function is None:
                return None
            made = self._calls[ident]
            made.append(name)
            for fault in self.armed:
                if fault.fired or fault.function != function:
                    continue
                if fault.after and fault.after not in made[:-1]:
                    continue
                if fault.operation in ("*", name):
                    fault.fired.append(name)
                    return fault.response(service, url)
        return None


_INJECTOR: CallFaults | None = None


def _before_call(model: Any, params: dict[str, Any], event_name: str = "", **_: Any) -> Any:
    injector = _INJECTOR
    return injector.check(event_name, params.get("url", "")) if injector else None


def install(injector: CallFaults | None) -> None:
    """Route every botocore call through ``injector`` (``None``: no faults); sessions made from now on."""
    global _INJECTOR
    _INJECTOR = injector
    entry = ("before-call", _before_call)
    if entry not in botocore.handlers.BUILTIN_HANDLERS:
        botocore.handlers.BUILTIN_HANDLERS.append(entry)
        boto3.DEFAULT_SESSION = None


# --- the execution stopped or timed out while a Lambda runs ------------------------------------------
def running_executions(env: Offline) -> list[str]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=env.stack.state_machine_arn, statusFilter="RUNNING"
    )
    return [e["executionArn"] for page in pages for e in page["executions"]]


def stop(execution_arn: str) -> None:
    boto3.client("stepfunctions", region_name=REGION).stop_execution(
        executionArn=execution_arn, error="Operator.Stop", cause="stopped by the fault matrix"
    )


def time_out(execution_arn: str) -> None:
    """What moto does when ``TimeoutSeconds`` elapses, now (see the module's docstring)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[ACCOUNT][REGION]
    [execution] = [e for e in backend._get_executions() if e.exec_arn == execution_arn]
    execution.exec_worker.env.set_timed_out()


@dataclass
class Probe:
    """Hooks on the router for one scenario: the call faults' bookkeeping, an action run when a given
    function is invoked, and the active pointer after every invocation (to see an un-promotion)."""

    env: Offline
    calls: CallFaults
    pointers: Pointers
    history: list[Active] = field(default_factory=list)
    on_invoke: dict[str, Callable[[], None]] = field(default_factory=dict)
    acted: list[str] = field(default_factory=list)
    recording: bool = False

    def attach(self) -> None:
        self.env.router.before_invoke.append(self._before)
        self.env.router.after_invoke.append(self._after)

    def _before(self, function: str, payload: Any) -> None:
        action = self.on_invoke.pop(function, None)
        if action is not None:
            action()
            self.acted.append(function)
        self.calls.entered(function)

    def _after(self, function: str, payload: Any) -> None:
        self.calls.left()
        if self.recording:
            self.history.append(self.pointers.read(CLF))


def pointers(env: Offline) -> Pointers:
    """The active-model pointers over the offline stack's SSM, read as the lifecycle reads them."""
    store = ParameterStore(boto3.client("ssm", region_name=REGION))
    return Pointers(PrefixedStore(env.stack.parameter_prefix, store))


# --- the reconciler (issue 8; not there yet) --------------------------------------------------------
def run_reconciler(env: Offline, execution_arn: str | None = None) -> bool:
    """Invoke ``ReconcileFunction`` once if the template has it, then let what it started finish: with
    the status-change event of ``execution_arn`` when that execution ended badly (as the template's
    EventBridge rule delivers it), else as its schedule does. ``False``: the stack has no reconciler."""
    try:
        env.router.resolve(RECONCILER)
    except KeyError:
        return False
    event: dict[str, Any] = {}
    if execution_arn:
        status = boto3.client("stepfunctions", region_name=REGION).describe_execution(
            executionArn=execution_arn
        )
        if status["status"] in {"FAILED", "TIMED_OUT", "ABORTED"}:
            event = {
                "detail-type": "Step Functions Execution Status Change",
                "source": "aws.states",
                "detail": {"executionArn": execution_arn, "status": status["status"]},
            }
    result, error = env.router.invoke(RECONCILER, event)
    assert error is None, f"the reconciler failed: {result}"
    wait_for_executions(env)
    return True


def wait_for_executions(env: Offline, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while running_executions(env):
        if time.monotonic() > deadline:
            raise TimeoutError(f"executions still running after {timeout} s: {running_executions(env)}")
        time.sleep(0.05)


def settle(env: Offline, timeout: float = 30) -> None:
    """Wait for the local Comprehend service's background work (trainings, endpoints) to come to rest."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [m for m in comprehend_models(env) if m["Status"] in IN_PROGRESS_TRAINING]
        busy += [e for e in endpoints(env) if e["Status"] in SETTLING_ENDPOINT]
        if not busy:
            return
        time.sleep(0.1)


# --- notifications: SNS → SQS ------------------------------------------------------------------------
def subscribe(env: Offline) -> str:
    """An SQS queue subscribed to the stack's notification topic (its URL)."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="fault-matrix-notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=env.stack.outputs["NotificationTopicArn"], Protocol="sqs", Endpoint=arn
    )
    return str(url)


def notifications(queue_url: str) -> list[dict[str, Any]]:
    """Every notification not read yet: ``{"subject", "outcome", "message"}``."""
    sqs = boto3.client("sqs", region_name=REGION)
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            body = json.loads(message["Body"])
            attributes = body.get("MessageAttributes", {})
            found.append(
                {
                    "subject": body.get("Subject", ""),
                    "outcome": attributes.get("outcome", {}).get("Value", ""),
                    "message": json.loads(body["Message"]),
                }
            )
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


# --- reading the stack -------------------------------------------------------------------------------
def comprehend(env: Offline) -> Any:
    return boto3.client("comprehend", endpoint_url=env.comprehend.url, region_name=REGION)


def endpoints(env: Offline) -> list[dict[str, Any]]:
    return list(comprehend(env).list_endpoints()["EndpointPropertiesList"])


def comprehend_models(env: Offline) -> list[dict[str, Any]]:
    client = comprehend(env)
    found = list(client.list_document_classifiers()["DocumentClassifierPropertiesList"])
    found += client.list_entity_recognizers()["EntityRecognizerPropertiesList"]
    return [
        {"Arn": m.get("DocumentClassifierArn") or m.get("EntityRecognizerArn"), "Status": m["Status"]}
        for m in found
    ]


def registry(env: Offline) -> Registry:
    return Registry(env.stack.outputs["RegistryTableName"])


def s3_keys(env: Offline, prefix: str) -> list[str]:
    s3 = boto3.client("s3", region_name=REGION)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=env.stack.bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def csv_rows(body: bytes) -> list[Row]:
    return [tuple(row) for row in csv.reader(io.StringIO(body.decode())) if row]


def read_uri(uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return bytes(boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read())


def read_training(uri: str) -> bytes:
    """What Comprehend trains on for ``uri``: the object it names, or every object under the prefix."""
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    if not key.endswith("/"):
        return read_uri(uri)
    pages = (
        boto3.client("s3", region_name=REGION)
        .get_paginator("list_objects_v2")
        .paginate(Bucket=bucket, Prefix=key)
    )
    keys = sorted(item["Key"] for page in pages for item in page.get("Contents", []))
    return b"".join(read_uri(f"s3://{bucket}/{k}") for k in keys)


def dataset_rows(env: Offline, kind: ModelKind = CLF) -> list[Row]:
    """The rows of the kind's current dataset version ([] when there is none)."""
    current = registry(env).current_dataset(kind)
    return csv_rows(read_training(current.train_uri)) if current else []


def quarantined_with_report(env: Offline, upload_key: str) -> bool:
    """The upload sits in a quarantine folder next to a ``report.json``."""
    name = upload_key.removeprefix("train/new/")
    keys = s3_keys(env, "quarantine/")
    folders = {k.rsplit("/", 1)[0] for k in keys if k.endswith("/" + name)}
    return any(f"{folder}/report.json" in keys for folder in folders)


# --- facts and invariants ----------------------------------------------------------------------------
@dataclass
class Facts:
    """What a scenario left behind, read once every execution had ended and the reconciler had run."""

    status: str  # of the execution under fault
    execution_arn: str
    fault_fired: bool
    reconciled: bool
    active: Active
    active_endpoint: dict[str, Any] | None  # DescribeEndpoint of the endpoint the pointer names
    records: list[ModelRecord]
    comprehend_models: list[dict[str, Any]]
    endpoints: list[dict[str, Any]]
    lock_holder: str | None
    notifications: list[dict[str, Any]]  # sent during the run under fault (and by the reconciler)
    uploads: dict[str, list[Row]]  # upload key → its rows
    dataset: list[Row]  # the current dataset version's rows
    pending: list[str]  # keys left under train/new/
    quarantined: dict[str, bool]  # upload key → in quarantine with a report
    history: list[Active]  # the active pointer after each invocation of the run under fault
    run_models: list[str]  # ARNs of the models trained by the execution under fault


def collect(
    env: Offline,
    *,
    execution_arn: str,
    fault_fired: bool,
    reconciled: bool,
    queue_url: str,
    uploads: dict[str, bytes],
    history: list[Active],
) -> Facts:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    status = sfn.describe_execution(executionArn=execution_arn)["status"]
    active = pointers(env).read(CLF)
    described = None
    if active.endpoint_arn:
        try:
            described = comprehend(env).describe_endpoint(EndpointArn=active.endpoint_arn)[
                "EndpointProperties"
            ]
        except Exception as error:  # a pointer at a vanished endpoint: the invariant reports it
            described = {"Status": f"cannot describe: {type(error).__name__}"}
    records = registry(env).models(CLF)
    execution_id = execution_arn
    return Facts(
        status=status,
        execution_arn=execution_arn,
        fault_fired=fault_fired,
        reconciled=reconciled,
        active=active,
        active_endpoint=described,
        records=records,
        comprehend_models=comprehend_models(env),
        endpoints=endpoints(env),
        lock_holder=registry(env).lock_holder(CLF),
        notifications=notifications(queue_url),
        uploads={key: csv_rows(body) for key, body in uploads.items()},
        dataset=dataset_rows(env),
        pending=s3_keys(env, "train/new/"),
        quarantined={key: quarantined_with_report(env, key) for key in uploads},
        history=history,
        run_models=[r.model_arn for r in records if r.execution_id == execution_id and r.model_arn],
    )


def invariant_1_pointer_pair_serves(f: Facts) -> list[str]:
    """The active model and its endpoint change together: the endpoint the pointer names is IN_SERVICE
    and serves the model the pointer names; the registry has exactly one active version, that model."""
    problems = []
    if not (f.active.model_arn and f.active.endpoint_arn):
        return [f"the active pointer is incomplete: {f.active}"]
    endpoint = f.active_endpoint or {}
    if endpoint.get("Status") != "IN_SERVICE":
        problems.append(f"the active endpoint is {endpoint.get('Status')}, not IN_SERVICE")
    if endpoint.get("ModelArn") != f.active.model_arn:
        problems.append(
            f"the active endpoint serves {endpoint.get('ModelArn')}, the pointer names {f.active}"
        )
    active = [r for r in f.records if r.status == "active"]
    if [r.model_arn for r in active] != [f.active.model_arn]:
        problems.append(
            f"registry active versions {[(r.version, r.model_arn) for r in active]} != pointer {f.active}"
        )
    return problems


def invariant_2_nothing_orphaned(f: Facts) -> list[str]:
    """No endpoint or training that neither the pointer, a running execution nor the registry accounts
    for: once every execution has ended, the only endpoint is the active one; every model Comprehend
    holds is recorded in the registry, and no record still claims a live status (training, trained)."""
    problems = []
    orphans = [
        e["EndpointArn"]
        for e in f.endpoints
        if e["EndpointArn"] != f.active.endpoint_arn and e["Status"] != "DELETING"
    ]
    if orphans:
        problems.append(f"orphan endpoints: {orphans}")
    recorded = {r.model_arn for r in f.records}
    unrecorded = [m["Arn"] for m in f.comprehend_models if m["Arn"] not in recorded]
    if unrecorded:
        problems.append(f"models the registry does not record: {unrecorded}")
    running = [m["Arn"] for m in f.comprehend_models if m["Status"] in IN_PROGRESS_TRAINING]
    if running:
        problems.append(f"trainings still running with no execution: {running}")
    stale = [(r.version, r.status) for r in f.records if r.status in LIVE_RECORD]
    if stale:
        problems.append(f"registry records left in a live status with no execution running: {stale}")
    return problems


def invariant_3_no_row_lost(f: Facts) -> list[str]:
    """Every uploaded row is in the current dataset version, or its upload is in quarantine with a
    report; nothing is left under train/new/."""
    problems = []
    present = set(f.dataset)
    for key, rows in f.uploads.items():
        missing = [r for r in rows if r not in present]
        if missing and not f.quarantined[key]:
            problems.append(f"{key}: {len(missing)} of {len(rows)} rows neither merged nor quarantined")
    if f.pending:
        problems.append(f"left under train/new/: {f.pending}")
    return problems


def invariant_4_lock_free(f: Facts) -> list[str]:
    """The kind's lock is free once the execution has ended (after the reconciler)."""
    return [f"the {CLF.value} lock is still held by {f.lock_holder}"] if f.lock_holder else []


def invariant_5_notified_and_promotion_kept(f: Facts) -> list[str]:
    """Every end of a run sent a notification: a run that did not succeed, one with outcome ``failed``
    and its reason (or ``promoted``, when its model is what serves); a failure after promotion never
    un-promotes nor marks the serving model failed."""
    problems = []
    serving = f.active.model_arn in f.run_models
    if f.status != "SUCCEEDED":
        told = [
            n
            for n in f.notifications
            if n["message"].get("reason")
            and (n["outcome"] == "failed" or (serving and n["outcome"] == "promoted"))
        ]
        if not told:
            outcomes = [n["outcome"] for n in f.notifications]
            problems.append(f"execution {f.status}: no failure notification with a reason (sent: {outcomes})")
    elif not f.notifications:
        problems.append("the run succeeded without a notification")
    promoted = [arn for arn in f.run_models if any(a.model_arn == arn for a in f.history)]
    for arn in promoted:
        if f.active.model_arn != arn:
            problems.append(f"{arn} was promoted, then the pointer went back to {f.active.model_arn}")
        record = next(r for r in f.records if r.model_arn == arn)
        if record.status == "failed":
            problems.append(f"{record.version} was promoted, then marked failed: {record.reason}")
    return problems


INVARIANTS: dict[int, Callable[[Facts], list[str]]] = {
    1: invariant_1_pointer_pair_serves,
    2: invariant_2_nothing_orphaned,
    3: invariant_3_no_row_lost,
    4: invariant_4_lock_free,
    5: invariant_5_notified_and_promotion_kept,
}
