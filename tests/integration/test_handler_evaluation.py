"""StartTestJob, GetJobStatus, EvaluateModel, ModelSelection: both models scored on the same test set."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import pytest
from comprehend_al.errors import EvaluationFailed, JobFailed
from comprehend_al.models import ModelKind

from local import datagen
from tests.fakes import ACCOUNT, job_output_tar

if TYPE_CHECKING:
    from tests.integration.conftest import Stack

VERSION = "v20261123-120501-ab12cd"  # the challenger of the sample events
CHAMPION_VERSION = "v20261101-093012-9e8f7a"
TEST_VERSION = "t5c2e8a91f04b"
CHALLENGER_ARN = (
    f"arn:aws:comprehend:us-east-1:{ACCOUNT}:document-classifier/comprehend-al-classifier/version/{VERSION}"
)
CHAMPION_ARN = CHALLENGER_ARN.replace(VERSION, CHAMPION_VERSION)

# A test set small enough to score by hand: lines 0-1 BILLING, lines 2-3 SHIPPING.
SMALL_TEST_SET = [
    datagen.Ticket("BILLING", "I was charged twice on my card last month."),
    datagen.Ticket("BILLING", "The refund for the annual plan never came."),
    datagen.Ticket("SHIPPING", "My parcel has not arrived since Monday."),
    datagen.Ticket("SHIPPING", "The courier left the package outside."),
]
# Challenger: 3 of 4 right (line 3 predicted BILLING).
#   BILLING:  TP 2, predicted 3, gold 2 -> P 2/3, R 1,   F1 2*2/(2+3) = 0.8
#   SHIPPING: TP 1, predicted 1, gold 2 -> P 1,   R 1/2, F1 2*1/(2+1) = 2/3
#   macro P = 5/6, macro R = 3/4, macro F1 = (0.8 + 2/3) / 2 = 11/15; accuracy = micro F1 = 3/4
CHALLENGER_PREDICTIONS = ["BILLING", "BILLING", "SHIPPING", "BILLING"]
CHAMPION_PREDICTIONS = ["BILLING", "BILLING", "SHIPPING", "SHIPPING"]  # all right


def with_champion(stack: Stack, *, evaluated_on: str | None = None, outcomes_kept: bool = True) -> None:
    """An active champion (SSM pointer, registry item), optionally already evaluated on a test version
    (with its per-document outcomes kept beside the test set, unless ``outcomes_kept`` is false)."""
    stack.set_param("classifier/active-model-arn", CHAMPION_ARN)
    if evaluated_on and outcomes_kept:
        outcomes = {"labels": ["BILLING"], "averaging": "macro", "documents": [[1, [[0, 1, 0, 0]]]]}
        key = f"datasets/classifier/test/{evaluated_on}/outcomes/{CHAMPION_VERSION}.json"
        stack.put(key, json.dumps(outcomes).encode())
    stack.fake.add_classifier(CHAMPION_ARN)
    evaluations = {evaluated_on: {"Accuracy": 0.5, "F1Score": 0.5}} if evaluated_on else {}
    stack.deps.registry.put_model(
        ModelKind.CLASSIFIER,
        CHAMPION_VERSION,
        status="active",
        model_arn=CHAMPION_ARN,
        evaluations=evaluations,
    )


# --- StartTestJob --------------------------------------------------------------------------------------
@pytest.fixture
def trained(stack: Stack) -> Stack:
    """The challenger is trained, and the fixed test set is in place."""
    stack.put_test_set(datagen.generate(20, seed=2))
    stack.fake.add_classifier(CHALLENGER_ARN)
    stack.deps.registry.put_model(ModelKind.CLASSIFIER, VERSION, status="trained", model_arn=CHALLENGER_ARN)
    return stack


def started_models(stack: Stack) -> list[str]:
    return sorted(r["DocumentClassifierArn"] for r in stack.fake.calls_to("StartDocumentClassificationJob"))


def test_start_test_job_tests_only_the_challenger_when_champion_already_evaluated(trained: Stack) -> None:
    """Given the champion was already evaluated on this test-set version, when StartTestJob is called,
    then only the challenger is run through the test set."""
    with_champion(trained, evaluated_on=TEST_VERSION)

    result = trained.invoke("start_test_job", trained.event("start_test_job", "trained.json"))

    assert [job["role"] for job in result["jobs"]] == ["challenger"]
    assert started_models(trained) == [CHALLENGER_ARN]


def test_start_test_job_retests_a_champion_whose_outcomes_were_not_kept(trained: Stack) -> None:
    """Given the champion has metrics on this test-set version but no per-document outcomes (evaluated
    before they were kept), when StartTestJob is called, then it is run again: the comparison is paired."""
    with_champion(trained, evaluated_on=TEST_VERSION, outcomes_kept=False)

    result = trained.invoke("start_test_job", trained.event("start_test_job", "trained.json"))

    assert sorted(job["role"] for job in result["jobs"]) == ["challenger", "champion"]


def test_start_test_job_tests_challenger_and_champion_when_champion_not_evaluated(trained: Stack) -> None:
    """Given the champion was evaluated on an older test-set version only, when StartTestJob is called,
    then both models are run through the same test documents."""
    with_champion(trained, evaluated_on="t-an-older-test-set")

    result = trained.invoke("start_test_job", trained.event("start_test_job", "trained.json"))

    assert sorted(job["role"] for job in result["jobs"]) == ["challenger", "champion"]
    assert started_models(trained) == sorted([CHALLENGER_ARN, CHAMPION_ARN])
    inputs = {r["InputDataConfig"]["S3Uri"] for r in trained.fake.calls_to("StartDocumentClassificationJob")}
    assert len(inputs) == 1


def test_start_test_job_input_holds_one_test_document_per_line(trained: Stack) -> None:
    """Given a 20-row test set, when StartTestJob is called,
    then the job reads a text file with the 20 test texts, one per line, in test-set order."""
    trained.invoke("start_test_job", trained.event("start_test_job", "trained.json"))

    [request] = trained.fake.calls_to("StartDocumentClassificationJob")
    documents = trained.get(trained.key(request["InputDataConfig"]["S3Uri"]))
    assert documents.decode().splitlines() == [t.text for t in datagen.generate(20, seed=2)]


# --- GetJobStatus --------------------------------------------------------------------------------------
def jobs_event(stack: Stack) -> dict[str, Any]:
    """The sample poll of two started jobs (challenger and champion), both known to Comprehend."""
    event = stack.event("get_job_status", "in_progress.json")
    for job in event["test"]["jobs"]:
        prefix = stack.uri(f"output/classifier/{VERSION}/test-{TEST_VERSION}/{job['role']}/")
        stack.fake.add_job(job["job_id"], job["model_arn"], prefix)
    stack.fake.predictions[CHALLENGER_ARN] = CHALLENGER_PREDICTIONS
    stack.fake.predictions[CHAMPION_ARN] = CHAMPION_PREDICTIONS
    return event


def test_get_job_status_completed_is_done_with_the_output_archives(stack: Stack) -> None:
    """Given both test jobs COMPLETED, when GetJobStatus polls them,
    then it is done and each job points at its output.tar.gz."""
    event = jobs_event(stack)
    stack.fake.job_status = "COMPLETED"

    result = stack.invoke("get_job_status", event)

    assert result["done"] is True
    assert [job["status"] for job in result["jobs"]] == ["COMPLETED", "COMPLETED"]
    for job in result["jobs"]:
        assert job["output_uri"].endswith(f"-CLN-{job['job_id']}/output/output.tar.gz")
        assert stack.get(stack.key(job["output_uri"]))


def test_get_job_status_in_progress_is_not_done_and_counts_the_attempt(stack: Stack) -> None:
    """Given the test jobs are IN_PROGRESS, when GetJobStatus polls them,
    then it is not done and the attempt count goes up by one."""
    event = jobs_event(stack)
    stack.fake.job_status = "IN_PROGRESS"

    result = stack.invoke("get_job_status", event)

    assert result["done"] is False
    assert result["attempt"] == event["test"]["attempt"] + 1


def test_get_job_status_failed_raises_job_failed(stack: Stack) -> None:
    """Given a test job FAILED, when GetJobStatus polls it,
    then it raises JobFailed with Comprehend's message."""
    event = jobs_event(stack)
    stack.fake.job_status = "FAILED"
    stack.fake.job_message = "Access denied to the input bucket"

    with pytest.raises(JobFailed, match="FAILED: Access denied to the input bucket"):
        stack.invoke("get_job_status", event)


# --- EvaluateModel -------------------------------------------------------------------------------------
@pytest.fixture
def scored(stack: Stack) -> dict[str, Any]:
    """The sample event of two completed jobs, with their archives, the small test set and the registry."""
    event = stack.event("evaluate_model", "completed.json")
    stack.put_test_set(SMALL_TEST_SET)
    outputs = {"challenger": CHALLENGER_PREDICTIONS, "champion": CHAMPION_PREDICTIONS}
    for job in event["test"]["jobs"]:
        stack.put(stack.key(job["output_uri"]), job_output_tar(outputs[job["role"]]))
    stack.deps.registry.put_model(ModelKind.CLASSIFIER, VERSION, status="trained", model_arn=CHALLENGER_ARN)
    with_champion(stack)
    return event


def test_evaluate_model_stores_hand_checked_metrics_in_registry(stack: Stack, scored: dict[str, Any]) -> None:
    """Given the challenger got 3 of 4 test documents right, when EvaluateModel is called,
    then the registry holds its metrics on this test-set version (checked by hand above)."""
    stack.invoke("evaluate_model", scored)

    item = stack.deps.registry.model(ModelKind.CLASSIFIER, VERSION)
    assert item is not None
    metrics = item.evaluations[TEST_VERSION]
    assert metrics["documents"] == 4
    assert metrics["Accuracy"] == pytest.approx(0.75)
    assert metrics["Precision"] == pytest.approx(5 / 6)
    assert metrics["Recall"] == pytest.approx(0.75)
    assert metrics["F1Score"] == pytest.approx(11 / 15)
    assert metrics["MicroF1Score"] == pytest.approx(0.75)
    assert metrics["confusion_matrix"] == {
        "BILLING": {"BILLING": 2},
        "SHIPPING": {"BILLING": 1, "SHIPPING": 1},
    }


def test_evaluate_model_returns_both_models_scores(stack: Stack, scored: dict[str, Any]) -> None:
    """Given challenger and champion jobs completed, when EvaluateModel is called,
    then the result compares the challenger's F1 (11/15) with the perfect champion's, on the chosen metric."""
    result = stack.invoke("evaluate_model", scored)

    assert result["metric"] == "F1Score"
    assert result["test_version"] == TEST_VERSION
    assert result["challenger"]["F1Score"] == pytest.approx(11 / 15)
    assert result["champion"]["F1Score"] == pytest.approx(1.0)
    assert result["champion_version"] == CHAMPION_VERSION
    assert "confusion_matrix" not in result["challenger"]  # kept in the registry, not the state


def test_evaluate_model_uses_stored_champion_metrics_without_champion_job(stack: Stack) -> None:
    """Given only the challenger was tested (the champion was evaluated on this test set before),
    when EvaluateModel is called, then the champion's stored metrics are compared."""
    event = stack.event("evaluate_model", "completed.json")
    event["test"]["jobs"] = [job for job in event["test"]["jobs"] if job["role"] == "challenger"]
    stack.put_test_set(SMALL_TEST_SET)
    [challenger] = event["test"]["jobs"]
    stack.put(stack.key(challenger["output_uri"]), job_output_tar(CHALLENGER_PREDICTIONS))
    stack.deps.registry.put_model(ModelKind.CLASSIFIER, VERSION, status="trained", model_arn=CHALLENGER_ARN)
    with_champion(stack, evaluated_on=TEST_VERSION)  # stored F1Score 0.5

    result = stack.invoke("evaluate_model", event)

    assert result["champion"]["F1Score"] == pytest.approx(0.5)
    assert result["challenger"]["F1Score"] == pytest.approx(11 / 15)


def test_evaluate_model_missing_prediction_raises_evaluation_failed(
    stack: Stack, scored: dict[str, Any]
) -> None:
    """Given the challenger's output lacks the prediction of the last test line, when EvaluateModel is called,
    then it raises EvaluationFailed naming the missing line."""
    challenger = next(job for job in scored["test"]["jobs"] if job["role"] == "challenger")
    stack.put(stack.key(challenger["output_uri"]), job_output_tar(CHALLENGER_PREDICTIONS[:3]))

    with pytest.raises(EvaluationFailed, match=r"no prediction for 1 of 4 test lines .*first: 3"):
        stack.invoke("evaluate_model", scored)


# --- ModelSelection ------------------------------------------------------------------------------------
def test_model_selection_first_model_is_promoted(stack: Stack) -> None:
    """Given no champion, when ModelSelection is called, then the challenger is promoted,
    and the decision is recorded in the registry."""
    result = stack.invoke("model_selection", stack.event("model_selection", "first_model.json"))

    assert result["decision"] == "promote"
    assert "first model" in result["reason"]
    item = stack.deps.registry.model(ModelKind.CLASSIFIER, VERSION)
    assert item is not None and item.selection["decision"] == "promote"


def test_model_selection_better_challenger_is_promoted(stack: Stack) -> None:
    """Given a challenger with F1 0.9062 against a champion with 0.8874, when ModelSelection is called,
    then the challenger is promoted."""
    result = stack.invoke("model_selection", stack.event("model_selection", "with_champion.json"))

    assert result["decision"] == "promote"
    assert result["challenger_value"] == pytest.approx(0.9062)
    assert result["champion_value"] == pytest.approx(0.8874)


def test_model_selection_tie_is_rejected(stack: Stack) -> None:
    """Given a challenger exactly as good as the champion, when ModelSelection is called,
    then the challenger is rejected (a tie keeps the champion)."""
    event = stack.event("model_selection", "with_champion.json")
    event["evaluation"]["champion"] = copy.deepcopy(event["evaluation"]["challenger"])

    result = stack.invoke("model_selection", event)

    assert result["decision"] == "reject"
    assert "tie" in result["reason"]


def test_model_selection_respects_min_improvement_from_ssm(stack: Stack) -> None:
    """Given SSM requires an improvement of 0.05 (the environment says 0.0) and the challenger improves
    F1 by 0.0188, when ModelSelection is called, then the challenger is rejected."""
    stack.set_param("min-improvement", "0.05")

    result = stack.invoke("model_selection", stack.event("model_selection", "with_champion.json"))

    assert result["decision"] == "reject"
    assert "below the required 0.0500" in result["reason"]


def test_evaluate_then_select_compares_the_two_models_document_by_document(
    stack: Stack, scored: dict[str, Any]
) -> None:
    """Given both models scored on the same 4 documents (the champion right on all, the challenger on 3),
    when EvaluateModel keeps their per-document outcomes and ModelSelection compares them, then the
    paired test's figures are reported: 1 document only the champion gets right, and 4 documents cannot
    tell the two apart beyond chance, so the champion stays (and the new batches with it)."""
    evaluation = stack.invoke("evaluate_model", scored)
    for version in (VERSION, CHAMPION_VERSION):
        assert stack.keys(f"datasets/classifier/test/{TEST_VERSION}/outcomes/{version}.json")

    result = stack.invoke("model_selection", {"run": scored["run"], "evaluation": evaluation})

    assert (result["decision"], result["outcome"]) == ("reject", "indistinguishable")
    assert result["test"]["mcnemar"] == {"challenger_only": 0, "champion_only": 1, "p_value": 1.0}
    assert result["test"]["documents"] == 4 and result["test"]["low"] < 0 <= result["test"]["high"]
