"""Contract: each principal's IAM policy allows exactly the AWS calls its code makes, on those resources.

One recording (module fixture): the template deployed by the offline stack runs a representative set of
the application's flows (both model kinds trained, deployed by creating a new endpoint and by updating
one in place, replaced, a failed training stopped, a failed endpoint cleaned up, a quarantined upload;
/classify with human review, /feedback, a completed review, the scheduled flush (labels and an accepted
entity document), the monitor, /analyze with stored results and entity review, documents at rest sent to
entity review). Every boto3 call a handler makes is attributed to its function, the local Comprehend
service's S3 calls to ``ComprehendDataAccessRole``, the local A2I runtime's to ``ReviewFlowRole``, and the
state machine's Lambda invokes to its role (:mod:`tests.contract.aws_calls`). The policies checked are the
ones moto's CloudFormation created from the translated template (intrinsics resolved), checked against it.

It fails on a call the policy does not allow; on an allowed action no recorded call used (unless
:data:`EXEMPT` gives the reason the flows cannot reach it); on a granted resource no call touched; and on
an exemption that is no longer needed.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from local import datagen, entitygen, langgen
from local.a2i.server import A2IService
from local.stack import ACCOUNT, REGION, REVIEW_FLOW, Offline, running
from tests.contract.aws_calls import (
    Call,
    Recorder,
    Requirement,
    Where,
    action_matches,
    allowed,
    granted_actions,
)
from tests.contract.conftest import EVENTS

STATE_MACHINE_ROLE = "ModelLifecycleStateMachine"
ROLES = ("ComprehendDataAccessRole", "ReviewFlowRole")  # roles of AWS services, written in the template
PARAMETERS = {
    "ReviewFlowDefinitionArn": REVIEW_FLOW,
    "ReviewThreshold": "1.0",  # every prediction is uncertain enough: each new text goes to review
    "ReviewDailyBudget": "50",
    "RetrainBatchSize": "3",
    "StoreAnalysisResults": "true",
    # routing by language (DetectDominantLanguage), with no language line: the default line answers
    "LanguageRouting": "true",
    "FallbackLine": "default",
}

# Every model this application trains has a version, so calls name .../<model>/version/<v>; the model's
# unversioned ARN stays granted beside it because IAM may authorize a versioned model's operations on it.
UNVERSIONED_MODEL = re.compile(r":(document-classifier|entity-recognizer)/[^/]+$")

# (principal, action) → why no recorded flow uses it. Each entry must name an action the policy grants
# and no flow uses (test_exemptions_are_still_needed).
EXEMPT: dict[tuple[str, str], str] = {
    **{
        (function, action): (
            "adopting a create after a retry (ResourceInUse): reached only when a Lambda dies after its "
            "Comprehend create succeeded and Step Functions retries it, which the flows cannot stage"
        )
        for function, action in (
            ("StartModelBuildingFunction", "comprehend:ListDocumentClassifiers"),
            ("StartModelBuildingFunction", "comprehend:ListEntityRecognizers"),
            ("StartEndpointFunction", "comprehend:ListEndpoints"),
        )
    },
    ("HandleFailureFunction", "comprehend:ListEntityRecognizers"): (
        "looking for a recognizer training a crash hid from the run's state: the flows crash "
        "StartModelBuilding for the classifier only (the classifier's List call is recorded)"
    ),
    **{
        ("ReconcileFunction", action): (
            "stopping an orphan training, and failing the versions of a dead run: the flows end every run "
            "through HandleFailure, which already stops its trainings and records the failure"
        )
        for action in (
            "comprehend:StopTrainingDocumentClassifier",
            "comprehend:StopTrainingEntityRecognizer",
            "dynamodb:UpdateItem",
        )
    },
    ("ProcessReviewFunction", "sqs:SendMessage"): (
        "Lambda's asynchronous invocation sends a failed event to the dead-letter queue (EventInvokeConfig "
        "OnFailure) with the function's role; the handler never calls SQS"
    ),
    ("ReconcileFunction", "sqs:SendMessage"): (
        "Lambda's asynchronous invocation sends a failed event to the dead-letter queue (EventInvokeConfig "
        "OnFailure) with the function's role; the handler never calls SQS"
    ),
    ("MonitorFunction", "sqs:SendMessage"): (
        "Lambda's asynchronous invocation sends a failed event to the dead-letter queue (EventInvokeConfig "
        "OnFailure) with the function's role; the handler never calls SQS"
    ),
    ("FlushLabelsFunction", "sqs:SendMessage"): (
        "Lambda's asynchronous invocation sends a failed event to the dead-letter queue (EventInvokeConfig "
        "OnFailure) with the function's role; the handler never calls SQS"
    ),
    ("SelectReviewFunction", "sqs:SendMessage"): (
        "Lambda's asynchronous invocation sends a failed event to the dead-letter queue (EventInvokeConfig "
        "OnFailure) with the function's role; the handler never calls SQS"
    ),
    **{
        (STATE_MACHINE_ROLE, action): (
            "Step Functions sets up CloudWatch Logs delivery with these when the state machine is created "
            "or updated, not during an execution (offline, moto creates no log delivery)"
        )
        for action in (
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        )
    },
}


@dataclass
class Recording:
    calls: list[Call]
    unmapped: list[str]
    policies: dict[str, list[dict[str, Any]]]  # principal → its identity policy statements
    invoked: set[str]  # functions whose handler ran
    functions: set[str]  # every function of the template


# --- the flows -------------------------------------------------------------------------------------------
def _upload_both_kinds(
    env: Offline, name: str, *, tickets: int, documents: int, seed: int, mislabelled: bool = False
) -> dict[str, Any]:
    """One execution that takes a classifier CSV and an entity folder (both kinds run in its Map)."""
    rows = datagen.generate(tickets, seed=seed)
    env.stack.put(f"train/new/{name}.csv", datagen.to_csv(datagen.mislabel(rows) if mislabelled else rows))
    docs = entitygen.generate(documents, seed=seed)
    text, annotations = entitygen.to_files(entitygen.mislabel(docs) if mislabelled else docs)
    env.stack.put(f"train/new/{name}/documents.txt", text)
    return env.stack.upload(f"train/new/{name}/annotations.csv", annotations)


def _api(env: Offline, function: str, sample: str, body: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(json.loads((EVENTS / sample).read_text()))
    event["body"] = json.dumps(body)
    result, error = env.router.invoke(function, event)
    assert error is None, result
    return dict(json.loads(result["body"]))


@contextmanager
def _function_env(env: Offline, function: str, **values: str) -> Iterator[None]:
    """A function redeployed with other environment values (a cold start) for the duration of the block."""
    environment = env.router.resolve(function).environment
    saved = dict(environment)
    environment.update(values)
    try:
        yield
    finally:
        environment.clear()
        environment.update(saved)


@contextmanager
def _trainings_held(env: Offline) -> Iterator[None]:
    """The local service's one training worker kept busy: new trainings stay SUBMITTED until the end."""
    release = threading.Event()
    env.comprehend.submit(release.wait, training=True)
    try:
        yield
    finally:
        release.set()


def _run_flows(env: Offline, a2i: A2IService, reviews: list[tuple[Any, str | None]]) -> None:
    stack, router = env.stack, env.router
    stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(150, seed=99)))
    documents, annotations = entitygen.to_files(entitygen.generate(80, seed=99))
    stack.put("test/entities/documents.txt", documents)
    stack.put("test/entities/annotations.csv", annotations)

    # /classify before any model (503); then first models of both kinds whose new endpoints end FAILED:
    # both cleaned up (mislabelled data here and next: weak first models that later data beats)
    _api(env, "ClassifyFunction", "classify/text.json", {"text": "where is my parcel"})
    env.comprehend.faults.fail_next_endpoint("Insufficient capacity")
    env.comprehend.faults.fail_next_endpoint("Insufficient capacity")
    _expect(_upload_both_kinds(env, "first", tickets=50, documents=60, seed=1, mislabelled=True), "FAILED")
    # both kinds' first models in one execution: trained, tested, deployed on new endpoints
    _expect(_upload_both_kinds(env, "both", tickets=50, documents=60, seed=3, mislabelled=True), "SUCCEEDED")
    # better models of both kinds deployed in place (UpdateEndpoint on the active endpoints)
    with _function_env(env, "StartEndpointFunction", DEPLOYMENT_STRATEGY="UPDATE_IN_PLACE"):
        _expect(_upload_both_kinds(env, "more", tickets=150, documents=100, seed=2), "SUCCEEDED")
    # better models of both kinds on new endpoints: the replaced endpoints are deleted
    _expect(_upload_both_kinds(env, "most", tickets=400, documents=300, seed=7), "SUCCEEDED")
    _expect_active(env, promotions=3)
    # an invalid upload alone is quarantined with a report (no run: the lock is released at once)
    _expect(stack.upload("train/new/bad.csv", b"BILLING,charged twice\nSHIPPING\n"), "SUCCEEDED")
    # a challenger that cannot improve enough is rejected
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name=f"{stack.parameter_prefix}/min-improvement", Value="1.0", Overwrite=True)
    _expect(stack.upload("train/new/rejected.csv", _tickets(60, seed=8)), "SUCCEEDED")
    # a challenger worse beyond chance (every BILLING ticket labelled SHIPPING): its new batches are held
    _expect(stack.upload("train/new/worse.csv", _shifted(400, seed=9)), "SUCCEEDED")
    # every label shifted, in both kinds: the guard holds both batches before any training
    _expect(
        _upload_both_kinds(env, "shifted", tickets=100, documents=40, seed=12, mislabelled=True), "SUCCEEDED"
    )
    # a shifted batch beside a clean one: the guard holds one, the other trains on a version without it
    stack.put("train/new/clean-beside.csv", _tickets(80, seed=13))
    shifted = datagen.to_csv(datagen.mislabel(datagen.generate(100, seed=14)))
    _expect(stack.upload("train/new/shifted-beside.csv", shifted), "SUCCEEDED")
    # both kinds training when a step crashes: the failure handler stops both trainings
    with _trainings_held(env):
        router.fail_next("GetModelStatusFunction", RuntimeError("simulated crash"))
        router.fail_next("GetModelStatusFunction", RuntimeError("simulated crash"))
        _expect(_upload_both_kinds(env, "held", tickets=60, documents=30, seed=4), "FAILED")
    # a crash before the model is recorded: the failure handler records the failed model itself
    router.fail_next("StartModelBuildingFunction", RuntimeError("simulated crash"))
    _expect(stack.upload("train/new/crash.csv", _tickets(60, seed=6)), "FAILED")

    # a user readmits the batch the guard held (it trains at once, loses, is held again) and drops it;
    # then rolls each kind back to an earlier version, holding the batches that came after it
    from comprehend_al.models import ModelKind
    from comprehend_al.store.registry import Registry

    registry = Registry(stack.outputs["RegistryTableName"])
    [held] = [b for b in registry.batches(ModelKind.CLASSIFIER) if b.source == "train/new/shifted-beside.csv"]
    _expect(stack.change_batch(ModelKind.CLASSIFIER, held.batch_id, "readmit", by="ops"), "SUCCEEDED")
    _expect(stack.change_batch(ModelKind.CLASSIFIER, held.batch_id, "drop", by="ops"), "SUCCEEDED")
    for kind in ModelKind:
        earlier = [m for m in registry.models(kind) if m.status == "retired"][-1]
        _expect(
            stack.rollback(kind, earlier.version, by="ops", reason="flows", hold_batches_after=True),
            "SUCCEEDED",
        )

    # the loop (RetrainBatchSize 3): an uncertain prediction is queued and the selection sends it to
    # review; feedback by id and by text, the third label (feedback) writes a training upload; a completed
    # review is the next third label; the schedule flushes what is left; a human loop that fails to start
    # gives back its budget
    text = 'I was charged twice, and the parcel with my "new" router never arrived'
    prediction = _api(env, "ClassifyFunction", "classify/text.json", {"text": text})
    assert prediction["review"]["reason"] == "queued", prediction
    pid = prediction["prediction_id"]
    select = json.loads((EVENTS / "select_review" / "scheduled.json").read_text())
    selected, error = router.invoke("SelectReviewFunction", select)
    assert error is None and selected["started"] == [pid], selected
    _feedback(env, {"prediction_id": pid, "label": "SHIPPING"}, upload=False)
    _feedback(env, {"text": "refund please", "label": "BILLING"}, upload=False)
    _feedback(env, {"text": "login fails", "label": "TECHNICAL"}, upload=True)
    _feedback(env, {"text": "where is my parcel", "label": "SHIPPING"}, upload=False)
    _feedback(env, {"text": "charged twice", "label": "BILLING"}, upload=False)
    [pending] = a2i.pending()
    a2i.complete(pending["humanLoopName"], {pid: "BILLING"})
    [(reviewed, error)] = reviews
    assert error is None and reviewed["flush"], reviewed
    _feedback(env, {"text": "the app crashes", "label": "TECHNICAL"}, upload=False)
    # an entity document an annotation loop accepted, alone below annotation-batch-size: the schedule takes it
    accepted = {
        "id": "d-9",
        "text": "Lars Brandt joined Marlow Freight Inc. in Oslo.",
        "entities": [_span(0, 11, "PERSON")],
        "loop": "ent-9",
        "at": "2025-05-02T00:00:00+00:00",
    }
    stack.put("annotation/accepted/ent-9/d-9.json", json.dumps(accepted).encode())
    flush = json.loads((EVENTS / "flush_labels" / "scheduled.json").read_text())
    flushed, error = router.invoke("FlushLabelsFunction", flush)
    assert error is None and flushed["annotations"]["reason"] == "written", flushed
    a2i.faults.fail("StartHumanLoop", "ServiceQuotaExceededException")
    _api(env, "ClassifyFunction", "classify/text.json", {"text": "my parcel and my bill, both wrong"})
    failed, error = router.invoke("SelectReviewFunction", select)
    assert error is None and failed["skipped"]["review_failed"] == 1, failed

    # the reconciler: a lock of an execution that is gone, an endpoint nothing points at, an upload no
    # event delivered; it releases, deletes, starts an execution (which merges the upload)

    ghost = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:comprehend-al-model-lifecycle:ghost"
    assert Registry(stack.outputs["RegistryTableName"]).acquire_lock(
        ModelKind.ENTITY_RECOGNIZER, ghost, seconds=60
    )
    comprehend = boto3.client("comprehend", endpoint_url=env.comprehend.url, region_name=REGION)
    for kind, name in ((ModelKind.CLASSIFIER, "clf"), (ModelKind.ENTITY_RECOGNIZER, "ner")):
        comprehend.create_endpoint(
            EndpointName=f"comprehend-al-{name}-orphan",
            ModelArn=str(stack.active(kind).model_arn),
            DesiredInferenceUnits=1,
        )
    stack.put("train/new/undelivered.csv", _tickets(40, seed=11))
    report, error = router.invoke("ReconcileFunction", {})
    assert error is None and report["locks_released"] and len(report["endpoints_deleted"]) == 2, report
    [started] = report["executions_started"]
    _expect(stack.wait(started), "SUCCEEDED")

    # the monitor: drift of the /classify traffic above, live accuracy of the review and the correction,
    # open reviews, waiting labels, the active endpoints' units
    monitored, error = router.invoke(
        "MonitorFunction", json.loads((EVENTS / "monitor" / "schedule.json").read_text())
    )
    assert error is None and monitored["drift"] and monitored["live_labels"] >= 1, monitored

    # /analyze: both active endpoints, the result stored (StoreAnalysisResults=true); every recognized text
    # uncertain enough for entity review (threshold 1.0), each loop with a gold document (gold rate 1): one
    # loop started, then one that A2I refuses (the text's claim and the budget unit given back)
    ssm = boto3.client("ssm", region_name=REGION)
    for name, value in (("review-threshold", "1.0"), ("review-gold-rate", "1")):
        ssm.put_parameter(
            Name=f"{stack.parameter_prefix}/entity_recognizer/{name}",
            Value=value,
            Type="String",
            Overwrite=True,
        )
    known = {"id": "g-0", "text": "Lars Brandt spoke.", "entities": [], "answer": [_span(0, 11, "PERSON")]}
    stack.put("annotation/gold/g-0.json", json.dumps(known).encode())
    sentence = "Priya Tanaka, CFO of Harborview Energy Corp., spoke."
    analyzed = _api(env, "AnalyzeFunction", "analyze/analyze.json", {"text": sentence})
    assert analyzed.get("analysis_id") and analyzed["entity_review"]["selected"], analyzed
    [loop] = [p for p in a2i.pending() if p["humanLoopName"] == analyzed["entity_review"]["human_loop_name"]]
    assert "g-0" in {item["id"] for item in loop["inputContent"]["items"]}, loop
    a2i.faults.fail("StartHumanLoop", "ServiceQuotaExceededException")
    other = "Wei Lindqvist, CEO of Marlow Freight Inc. (NYSE: MFR), spoke."
    refused = _api(env, "AnalyzeFunction", "analyze/analyze.json", {"text": other})
    assert refused["entity_review"]["reason"] == "review_failed", refused

    # documents at rest: a file under review/entities/ → its most uncertain documents to entity review (the
    # first loop refused by A2I: its text's claim and budget unit given back)
    news = "".join(d.text + "\n" for d in entitygen.generate(4, seed=123)).encode()
    stack.put("review/entities/news.txt", news)
    event = json.loads((EVENTS / "review_documents" / "documents.json").read_text())
    event["documents"] = f"s3://{stack.bucket}/review/entities/news.txt"
    a2i.faults.fail("StartHumanLoop", "ServiceQuotaExceededException")
    at_rest, error = router.invoke("ReviewDocumentsFunction", event)
    assert error is None and at_rest["started"] >= 1 and at_rest["reasons"]["review_failed"] == 1, at_rest

    # annotation (docs/annotation.md): two annotators agree on one document and disagree on another, a
    # gold document scores them, the disputed one is adjudicated; both leave as one entity batch
    _annotate(env, a2i, reviews)

    # Taxonomy=nested: a path-labelled test set and upload are split into the parent's and each child
    # model line's (too few rows to train the children: preparing them is what is recorded)
    with _function_env(env, "PrepareTrainingDataFunction", TAXONOMY="nested"):
        stack.put("test/classifier/test.csv", datagen.to_csv(langgen.taxonomy(40, seed=98)))
        _expect(
            stack.upload("train/new/paths.csv", datagen.to_csv(langgen.taxonomy(20, seed=15))), "SUCCEEDED"
        )


def _annotate(env: Offline, a2i: A2IService, reviews: list[tuple[Any, str | None]]) -> None:
    stack = env.stack
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(
        Name=f"{stack.parameter_prefix}/annotation-batch-size", Value="2", Type="String", Overwrite=True
    )
    gold = {"id": "g-1", "text": "Maria lives in Oslo.", "entities": [], "answer": [_span(0, 5, "PERSON")]}
    stack.put("annotation/gold/g-1.json", json.dumps(gold).encode())
    items = [
        {"id": "n-1", "text": "Jane Doe joined Acme.", "entities": [_span(0, 8, "PERSON")]},
        {"id": "n-2", "text": "Oslo is cold.", "entities": []},
        {"id": "g-1", "text": gold["text"], "entities": []},
    ]
    content = {"kind": "entities", "items": items, "types": ["PERSON", "ORGANIZATION", "LOCATION"]}
    a2i.start_human_loop(
        {
            "HumanLoopName": "ent-1",
            "FlowDefinitionArn": REVIEW_FLOW,
            "HumanLoopInput": {"InputContent": json.dumps(content)},
        }
    )
    oslo = [_span(0, 4, "LOCATION")]
    a2i.complete(
        "ent-1", {"n-1": [_span(0, 8, "PERSON")], "n-2": oslo, "g-1": gold["answer"]}, worker_id="ann"
    )
    a2i.complete("ent-1", {"n-1": [_span(16, 20, "ORGANIZATION")], "n-2": oslo, "g-1": []}, worker_id="bo")
    annotated, error = reviews[-1]
    assert error is None and annotated["adjudication_loop"] == "adj-ent-1", annotated
    a2i.complete("adj-ent-1", {"n-1": [_span(0, 8, "PERSON"), _span(16, 20, "ORGANIZATION")]}, worker_id="jo")
    adjudicated, error = reviews[-1]
    assert error is None and adjudicated["batch"]["reason"] == "written", adjudicated


def _span(begin: int, end: int, kind: str) -> dict[str, Any]:
    return {"BeginOffset": begin, "EndOffset": end, "Type": kind}


def _tickets(n: int, seed: int) -> bytes:
    return datagen.to_csv(datagen.generate(n, seed=seed))


def _shifted(n: int, seed: int) -> bytes:
    """One label relabelled as another: subtle enough to pass the guard, harmful to the model trained."""
    rows = datagen.generate(n, seed=seed)
    return datagen.to_csv(
        [datagen.Ticket("SHIPPING" if t.label == "BILLING" else t.label, t.text) for t in rows]
    )


def _expect(result: dict[str, Any], status: str) -> None:
    assert result["status"] == status, result


def _expect_active(env: Offline, promotions: int) -> None:
    """Each kind's last ``promotions`` models were promoted: every deployment path above really ran."""
    from comprehend_al.models import ModelKind
    from comprehend_al.store.registry import Registry

    registry = Registry(env.stack.outputs["RegistryTableName"])
    for kind in ModelKind:
        decisions = [(m.selection or {}).get("decision") for m in registry.models(kind)]
        assert decisions[-promotions:] == ["promote"] * promotions, (kind, decisions)


def _feedback(env: Offline, body: dict[str, Any], *, upload: bool) -> None:
    answer = _api(env, "FeedbackFunction", "feedback/by_text.json", body)
    assert bool(answer.get("upload")) is upload, answer


def _document(value: Any) -> dict[str, Any]:
    """A policy document as moto returns it (JSON, a dict, or the repr of a dict)."""
    if isinstance(value, dict):
        return value
    try:
        return dict(json.loads(value))
    except ValueError:
        return dict(ast.literal_eval(value))


def _policies(env: Offline, functions: set[str]) -> dict[str, list[dict[str, Any]]]:
    iam = boto3.client("iam", region_name=REGION)
    lam = boto3.client("lambda", region_name=REGION)
    roles = {
        fn: lam.get_function_configuration(FunctionName=env.stack.resources[fn])["Role"].rsplit("/", 1)[1]
        for fn in functions
    }
    roles[STATE_MACHINE_ROLE] = env.stack.resources[f"{STATE_MACHINE_ROLE}Role"]
    roles.update({role: env.stack.resources[role] for role in ROLES})
    policies: dict[str, list[dict[str, Any]]] = {}
    for principal, role in roles.items():
        statements: list[dict[str, Any]] = []
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = _document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
            statements.extend(_listed(document["Statement"]))
        policies[principal] = statements
    return policies


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    state = tmp_path_factory.mktemp("least-privilege")
    recorder = Recorder(Where(REGION, ACCOUNT))
    # in this process only moto's state machine interpreter invokes Lambda through boto3
    recorder.fallback = lambda service, operation: (
        STATE_MACHINE_ROLE if (service, operation) == ("lambda", "Invoke") else None
    )

    def comprehend_s3() -> Any:  # the local Comprehend service reads and writes S3 as the data access role
        return recorder.tag(boto3.client("s3", region_name=REGION), "ComprehendDataAccessRole")

    with (
        recorder.installed(),
        running(state / "comprehend", PARAMETERS, s3_client_factory=comprehend_s3) as env,
    ):
        router = env.router
        functions = {spec.logical_id for spec in router.functions.values()}
        invoked: set[str] = set()
        real_invoke = router.invoke

        def invoke(name_or_arn: str, payload: Any) -> tuple[Any, str | None]:
            logical_id = router.resolve(name_or_arn).logical_id
            invoked.add(logical_id)
            with recorder.acting_as(logical_id):
                return real_invoke(name_or_arn, payload)

        router.invoke = invoke  # type: ignore[method-assign]
        reviews: list[tuple[Any, str | None]] = []
        a2i = A2IService(
            state / "a2i",
            output_bucket=env.stack.bucket,
            output_prefix="review/output/",
            s3_client_factory=lambda: recorder.tag(boto3.client("s3", region_name=REGION), "ReviewFlowRole"),
            on_status_change=lambda event: reviews.append(router.invoke("ProcessReviewFunction", event)),
            flow_definitions=[REVIEW_FLOW],
        )
        with a2i:
            assert a2i.url is not None
            router.base_env["AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME"] = a2i.url
            _run_flows(env, a2i, reviews)
        policies = _policies(env, functions)
    return Recording(list(recorder.calls), list(recorder.unmapped), policies, invoked, functions)


# --- the contract ----------------------------------------------------------------------------------------
def _used(recording: Recording) -> dict[str, set[str]]:
    used: dict[str, set[str]] = defaultdict(set)
    for call in recording.calls:
        used[call.principal].update(r.action for r in call.requirements)
    return used


def test_the_flows_run_every_function(recording: Recording) -> None:
    """Given the recorded flows
    When the functions whose handler ran are listed
    Then every function of the template ran (a function never run would have no calls to check)."""
    assert recording.functions - recording.invoked == set()


def test_every_recorded_call_maps_to_iam_actions(recording: Recording) -> None:
    """Given every recorded boto3 call
    When it is translated into IAM authorizations
    Then none is of an operation the translation does not know (add it to tests/contract/aws_calls.py)."""
    assert recording.unmapped == []


def test_every_recorded_call_is_allowed(recording: Recording) -> None:
    """Given every call a principal made in the flows
    When its authorizations are evaluated against that principal's policies (as deployed)
    Then each one is allowed."""
    denied = sorted(
        {
            f"{call.principal}: {call.operation} needs {r.action} on {r.resource}"
            + (f" with {dict(r.context)}" if r.context else "")
            for call in recording.calls
            for r in call.requirements
            if not allowed(recording.policies[call.principal], r)
        }
    )
    assert not denied, "\n".join(["", *denied])


def test_every_granted_action_is_used_or_exempt(recording: Recording) -> None:
    """Given every action each principal's policies allow
    When it is compared with the actions of the recorded calls
    Then each one was used, or EXEMPT says why the flows cannot reach it."""
    used = _used(recording)
    unused = sorted(
        f"{principal}: {action}"
        for principal, statements in recording.policies.items()
        for action in granted_actions(statements)
        if not any(action_matches(action, u) for u in used[principal]) and (principal, action) not in EXEMPT
    )
    assert not unused, "\n".join(["", *unused])


def test_exemptions_are_still_needed(recording: Recording) -> None:
    """Given the exemption list
    When each entry is compared with the policies and the recording
    Then it names an action its principal is granted and never used (a stale entry hides nothing)."""
    used = _used(recording)
    stale = sorted(
        f"{principal}: {action}"
        for principal, action in EXEMPT
        if action not in granted_actions(recording.policies.get(principal, []))
        or any(action_matches(action, u) for u in used[principal])
    )
    assert not stale, "\n".join(["", *stale])


def test_every_granted_resource_is_used(recording: Recording) -> None:
    """Given every resource an Allow statement names (statements of exempt actions aside)
    When it is compared with the recorded authorizations
    Then some recorded call needed one of the statement's actions on it (no bucket prefix, table,
    parameter path or name pattern is granted that the code never touches). A model's unversioned ARN is
    kept beside its versions (UNVERSIONED_MODEL)."""
    requirements: dict[str, list[Requirement]] = defaultdict(list)
    for call in recording.calls:
        requirements[call.principal].extend(call.requirements)
    unused = sorted(
        f"{principal}: {resource} ({', '.join(_listed(statement['Action']))})"
        for principal, statements in recording.policies.items()
        for statement in statements
        if statement["Effect"] == "Allow"
        and not all((principal, a) in EXEMPT for a in _listed(statement["Action"]))
        for resource in _listed(statement["Resource"])
        if not UNVERSIONED_MODEL.search(resource)
        and not any(allowed([{**statement, "Resource": resource}], r) for r in requirements[principal])
    )
    assert not unused, "\n".join(["", *unused])


def test_deployed_roles_hold_every_policy_of_the_translated_template(
    recording: Recording, translated: dict[str, Any]
) -> None:
    """Given the roles of the translated template
    When their inline policies are compared with the ones moto's CloudFormation created
    Then moto dropped none (the contract above checks the deployed ones)."""
    counts: Mapping[str, int] = {
        principal: sum(
            len(_listed(p["PolicyDocument"]["Statement"]))
            for p in translated["Resources"][principal if principal in ROLES else f"{principal}Role"][
                "Properties"
            ].get("Policies", [])
        )
        for principal in recording.policies
    }
    assert {p: len(s) for p, s in recording.policies.items()} == dict(counts)
