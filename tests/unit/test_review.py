"""Review selection: the uncertainty strategies (pure) and the budget / duplicate gate (DynamoDB in moto).

moto runs in this process (no socket): the gate's conditional writes are checked against DynamoDB's
real expression semantics rather than against a fake that would share the code's assumptions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from comprehend_al.review import (
    ReviewPolicy,
    Strategy,
    assess,
    normalized_entropy,
)
from comprehend_al.store.review_gate import ReviewGate
from moto import mock_aws

from tests.fakes import create_key_table

TABLE = "predictions"


# --- strategies -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scores", "selected"),
    [([0.69, 0.2, 0.11], True), ([0.7, 0.2, 0.1], False), ([0.95, 0.05], False), ([0.4, 0.35, 0.25], True)],
)
def test_least_confidence_selects_a_top_score_below_the_threshold(
    scores: list[float], selected: bool
) -> None:
    """Given scores and threshold 0.7, when assessed by least confidence, then top < 0.7 is selected."""
    result = assess(scores, Strategy.LEAST_CONFIDENCE, 0.7)

    assert result.uncertain is selected
    assert result.measure == pytest.approx(max(scores))
    assert result.uncertainty == pytest.approx(1 - max(scores))


def test_margin_selects_close_top_two_even_when_the_top_score_is_high_enough() -> None:
    """Given a confident-looking top score that is close to the second (multi-label-like scores),
    when assessed by margin with threshold 0.1, then it is selected; a clear winner is not."""
    close = assess([0.48, 0.45, 0.07], Strategy.MARGIN, 0.1)
    clear = assess([0.48, 0.12, 0.10], Strategy.MARGIN, 0.1)

    assert close.uncertain and close.measure == pytest.approx(0.03)
    assert not clear.uncertain and clear.measure == pytest.approx(0.36)


def test_margin_is_order_independent() -> None:
    """Given the same scores in another order, when assessed by margin, then the result is the same."""
    assert assess([0.1, 0.5, 0.4], Strategy.MARGIN, 0.2) == assess([0.5, 0.4, 0.1], Strategy.MARGIN, 0.2)


def test_normalized_entropy_is_zero_for_certainty_and_one_for_uniform_scores() -> None:
    """Given a one-hot and a uniform distribution over 4 classes, then entropy is 0 and 1."""
    assert normalized_entropy([1.0, 0.0, 0.0, 0.0]) == pytest.approx(0.0)
    assert normalized_entropy([0.25] * 4) == pytest.approx(1.0)
    assert normalized_entropy([1.0]) == 0.0


def test_entropy_selects_above_the_threshold() -> None:
    """Given spread-out and peaked scores, when assessed by entropy with threshold 0.6, then only the
    spread-out ones are selected."""
    spread = assess([0.4, 0.3, 0.2, 0.1], Strategy.ENTROPY, 0.6)
    peaked = assess([0.97, 0.01, 0.01, 0.01], Strategy.ENTROPY, 0.6)

    assert spread.uncertain and spread.uncertainty > 0.6
    assert not peaked.uncertain and peaked.uncertainty < 0.6


def test_no_scores_at_all_is_uncertain() -> None:
    assert assess([], Strategy.MARGIN, 0.1).uncertain


def test_policy_parses_ssm_strings_and_defaults() -> None:
    """Given SSM strings (some missing), when parsed, then the values and defaults are used."""
    assert ReviewPolicy.parse("Margin", "0.15", "20") == ReviewPolicy(Strategy.MARGIN, 0.15, 20)
    assert ReviewPolicy.parse(None, None, None) == ReviewPolicy()
    assert ReviewPolicy.parse("entropy", None, "0").threshold == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("strategy", "threshold", "budget"), [("random", "0.5", "1"), (None, "2", "1"), (None, "x", "1")]
)
def test_policy_rejects_wrong_values(strategy: str | None, threshold: str, budget: str) -> None:
    with pytest.raises(ValueError):
        ReviewPolicy.parse(strategy, threshold, budget)


# --- the gate -----------------------------------------------------------------------------------------
class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        create_key_table(resource, TABLE)
        yield resource


def test_budget_allows_exactly_the_daily_number_of_loops(table: Any) -> None:
    """Given a budget of 3, when 5 loops ask for it on one day, then exactly 3 get it."""
    gate = ReviewGate(TABLE, table, Clock(datetime(2025, 5, 1, 23, 0, tzinfo=UTC)))

    granted = [gate.take_budget(3) for _ in range(5)]

    assert granted == [True, True, True, False, False]
    assert gate.used_today() == 3


def test_budget_resets_on_the_next_utc_day(table: Any) -> None:
    """Given a spent budget, when the UTC day changes, then loops are allowed again."""
    clock = Clock(datetime(2025, 5, 1, 23, 59, tzinfo=UTC))
    gate = ReviewGate(TABLE, table, clock)
    assert gate.take_budget(1) and not gate.take_budget(1)

    clock.now += timedelta(minutes=2)

    assert gate.take_budget(1)


def test_budget_zero_disables_review_and_returned_budget_is_reusable(table: Any) -> None:
    gate = ReviewGate(TABLE, table, Clock(datetime(2025, 5, 1, tzinfo=UTC)))
    assert not gate.take_budget(0)
    assert gate.take_budget(1)

    gate.return_budget()

    assert gate.used_today() == 0 and gate.take_budget(1)


def test_same_text_is_claimed_only_once_and_release_frees_it(table: Any) -> None:
    """Given a text hash claimed by a prediction, when another prediction claims it, then it is refused;
    after the first releases it (its loop failed to start), it can be claimed again."""
    gate = ReviewGate(TABLE, table)

    assert gate.claim_text("h1", "p1")
    assert not gate.claim_text("h1", "p2")
    gate.release_text("h1", "p2")  # not the holder: no effect
    assert not gate.claim_text("h1", "p3")
    gate.release_text("h1", "p1")

    assert gate.claim_text("h1", "p4")
    assert gate.claim_text("h2", "p5")


# --- the decision inside /classify (fakes for Comprehend, SSM and A2I; DynamoDB in moto) -----------------
ENDPOINT = "arn:aws:comprehend:us-east-1:123456789012:document-classifier-endpoint/comprehend-al-clf-1"
NEW_ENDPOINT = "arn:aws:comprehend:us-east-1:123456789012:document-classifier-endpoint/comprehend-al-clf-2"
MODEL = "arn:aws:comprehend:us-east-1:123456789012:document-classifier/comprehend-al-classifier/version/v1"
FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/comprehend-al-review"
UNSURE = [
    {"Name": "SHIPPING", "Score": 0.4},
    {"Name": "BILLING", "Score": 0.35},
    {"Name": "TECHNICAL", "Score": 0.25},
]


class Endpoints:
    """ClassifyDocument: serving endpoints answer ``classes``; others raise ResourceNotFoundException."""

    def __init__(self, serving: set[str], classes: list[dict[str, Any]]) -> None:
        self.serving, self.classes = serving, classes
        self.calls: list[str] = []

    def classify_document(self, *, Text: str, EndpointArn: str) -> dict[str, Any]:
        self.calls.append(EndpointArn)
        if EndpointArn not in self.serving:
            from tests.fakes import comprehend_error

            raise comprehend_error("ResourceNotFoundException", operation="ClassifyDocument")
        return {"Classes": self.classes}


class Ssm:
    """The CachedParameters fetch: a cache that only a forced read refreshes (as Powertools' does)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)
        self.cache: dict[str, str] = {}
        self.forced = 0

    def __call__(self, name: str, max_age: int, force: bool) -> str:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
        from botocore.exceptions import ClientError

        if force or name not in self.cache:
            self.forced += int(force)
            if name not in self.values:
                try:
                    raise ClientError(
                        {"Error": {"Code": "ParameterNotFound", "Message": name}}, "GetParameter"
                    )
                except ClientError as error:
                    raise GetParameterError(str(error)) from error
            self.cache[name] = self.values[name]
        return self.cache[name]


class Loops:
    def __init__(self, fail: Exception | None = None) -> None:
        self.started: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = fail

    def start(self, name: str, flow: str, content: dict[str, Any]) -> str:
        if self.fail:
            raise self.fail
        self.started.append((name, flow, content))
        return f"arn:human-loop/{name}"


def classify_deps(table: Any, ssm: Ssm, endpoints: Endpoints, loops: Loops) -> Any:
    from comprehend_al.aws.s3 import Bucket
    from comprehend_al.aws.ssm import CachedParameters
    from comprehend_al.labels import LabelDeps
    from comprehend_al.predict import PredictDeps
    from comprehend_al.settings import LoopSettings, Settings
    from comprehend_al.store.label_buffer import LabelBuffer
    from comprehend_al.store.predictions import PredictionStore
    from comprehend_al.store.registry import Registry

    settings = Settings.model_validate(
        {"DATA_BUCKET": "data", "REGISTRY_TABLE": TABLE, "PARAMETER_PREFIX": "/comprehend-al"}
    )
    loop = LoopSettings.model_validate({"PREDICTIONS_TABLE": TABLE, "LABEL_BUFFER_TABLE": TABLE})
    params = CachedParameters("/comprehend-al", 60, ssm)
    return PredictDeps(
        settings=settings,
        loop=loop,
        params=params,
        comprehend=endpoints,
        store=PredictionStore(TABLE, table),
        gate=ReviewGate(TABLE, table),
        labels=LabelDeps(settings, loop, LabelBuffer(TABLE, table), Bucket("data", object()), params),
        registry=Registry(TABLE, table),
    )


def select_deps(table: Any, ssm: Ssm, loops: Loops, now: datetime | None = None) -> Any:
    from comprehend_al.aws.ssm import CachedParameters
    from comprehend_al.review_selection import SelectReviewDeps
    from comprehend_al.settings import LoopSettings, Settings
    from comprehend_al.store.predictions import PredictionStore

    clock = Clock(now or datetime.now(UTC))
    return SelectReviewDeps(
        settings=Settings.model_validate(
            {"DATA_BUCKET": "data", "REGISTRY_TABLE": TABLE, "PARAMETER_PREFIX": "/comprehend-al"}
        ),
        loop=LoopSettings.model_validate({"PREDICTIONS_TABLE": TABLE}),
        params=CachedParameters("/comprehend-al", 60, ssm),
        gate=ReviewGate(TABLE, table, clock),
        store=PredictionStore(TABLE, table),
        review=loops,  # type: ignore[arg-type]
        clock=clock,
    )


def ssm_values(**extra: str) -> dict[str, str]:
    values = {
        "/comprehend-al/classifier/active-endpoint-arn": ENDPOINT,
        "/comprehend-al/classifier/active-model-arn": MODEL,
        "/comprehend-al/review-strategy": "margin",
        "/comprehend-al/review-threshold": "0.1",
        "/comprehend-al/review-daily-budget": "1",
        "/comprehend-al/review-flow-definition-arn": FLOW,
    }
    return {**values, **{f"/comprehend-al/{k.replace('_', '-')}": v for k, v in extra.items()}}


def test_an_uncertain_prediction_is_queued_and_the_selection_starts_its_loop_with_the_models_labels(
    table: Any,
) -> None:
    """Given an uncertain prediction, when classified, then it is queued (no loop yet); when the selection
    runs, then one loop starts with the model's labels and the prediction's id."""
    from comprehend_al.a2i import loop_name
    from comprehend_al.predict import ClassifyRequest, classify
    from comprehend_al.review_selection import select_for_review

    loops, ssm = Loops(), Ssm(ssm_values())
    result = classify(
        ClassifyRequest(text="where is my refund parcel"),
        classify_deps(table, ssm, Endpoints({ENDPOINT}, UNSURE), loops),
    )
    assert (result.label, result.model_version) == ("SHIPPING", "v1")
    assert (result.review.selected, result.review.reason, result.review.strategy) == (
        False,
        "queued",
        "margin",
    )
    assert result.review.uncertainty == pytest.approx(0.95) and loops.started == []

    selection = select_for_review(select_deps(table, ssm, loops))

    [(name, flow, content)] = loops.started
    assert selection.started == [result.prediction_id] and flow == FLOW
    assert name == loop_name(result.prediction_id)
    assert content["labels"] == ["BILLING", "SHIPPING", "TECHNICAL"]
    assert content["items"][0]["id"] == result.prediction_id


def test_the_selection_spends_the_daily_budget_and_never_reviews_a_text_twice(table: Any) -> None:
    """Given a budget of 2 and four queued predictions (one text twice), when the selection runs twice on
    one day, then 2 loops start, for different texts, and the second run starts none."""
    from comprehend_al.predict import ClassifyRequest, classify
    from comprehend_al.review_selection import select_for_review

    loops, ssm = Loops(), Ssm(ssm_values(review_daily_budget="2"))
    deps = classify_deps(table, ssm, Endpoints({ENDPOINT}, UNSURE), loops)
    for text in ("first text", "second text", "first text", "third text"):
        classify(ClassifyRequest(text=text), deps)

    first = select_for_review(select_deps(table, ssm, loops))
    classify(ClassifyRequest(text="fourth text"), deps)
    second = select_for_review(select_deps(table, ssm, loops))

    assert (first.buffered, first.candidates, len(first.started)) == (4, 3, 2)
    assert len({content["items"][0]["text"] for _, _, content in loops.started}) == 2
    assert (second.buffered, second.started, second.reason) == (1, [], "budget_exhausted")


def test_review_without_a_flow_or_budget_queues_nothing(table: Any) -> None:
    from comprehend_al.predict import ClassifyRequest, classify
    from comprehend_al.review_selection import select_for_review

    loops = Loops()
    for values in (ssm_values(review_flow_definition_arn=""), ssm_values(review_daily_budget="0")):
        ssm = Ssm(values)
        answer = classify(
            ClassifyRequest(text="a text"), classify_deps(table, ssm, Endpoints({ENDPOINT}, UNSURE), loops)
        )
        assert answer.review.reason == "review_not_configured"
    assert select_for_review(select_deps(table, Ssm(ssm_values()), loops)).reason == "nothing_buffered"


def test_a_loop_that_fails_to_start_gives_back_its_budget_and_text(table: Any) -> None:
    """Given a queued prediction whose loop fails to start, then its budget and text are given back and the
    next selection starts it."""
    from comprehend_al.errors import ComprehendThrottled
    from comprehend_al.predict import ClassifyRequest, classify
    from comprehend_al.review_selection import select_for_review

    ssm = Ssm(ssm_values())
    classify(
        ClassifyRequest(text="a text"), classify_deps(table, ssm, Endpoints({ENDPOINT}, UNSURE), Loops())
    )
    failed = select_for_review(select_deps(table, ssm, Loops(ComprehendThrottled("slow down"))))
    loops = Loops()
    retried = select_for_review(select_deps(table, ssm, loops))

    assert failed.skipped["review_failed"] == 1 and failed.started == []
    assert len(retried.started) == 1 and len(loops.started) == 1


def test_a_replaced_endpoint_is_refetched_once_from_ssm(table: Any) -> None:
    """Given a cached endpoint ARN the lifecycle has since replaced, when a text is classified, then the
    ARN is fetched again (force) and the call retried on the new endpoint."""
    from comprehend_al.predict import ClassifyRequest, classify

    ssm = Ssm(ssm_values(review_daily_budget="0"))
    endpoints = Endpoints({NEW_ENDPOINT}, UNSURE)
    deps = classify_deps(table, ssm, endpoints, Loops())
    ssm.cache["/comprehend-al/classifier/active-endpoint-arn"] = ENDPOINT  # stale
    ssm.values["/comprehend-al/classifier/active-endpoint-arn"] = NEW_ENDPOINT

    result = classify(ClassifyRequest(text="a text"), deps)

    assert endpoints.calls == [ENDPOINT, NEW_ENDPOINT] and result.label == "SHIPPING"


def test_no_active_endpoint_or_one_still_gone_after_refetch_is_model_not_ready(table: Any) -> None:
    from comprehend_al.errors import ModelNotReady
    from comprehend_al.predict import ClassifyRequest, classify

    values = ssm_values()
    del values["/comprehend-al/classifier/active-endpoint-arn"]
    with pytest.raises(ModelNotReady):
        classify(
            ClassifyRequest(text="x"), classify_deps(table, Ssm(values), Endpoints(set(), UNSURE), Loops())
        )
    endpoints = Endpoints(set(), UNSURE)
    with pytest.raises(ModelNotReady):
        classify(ClassifyRequest(text="x"), classify_deps(table, Ssm(ssm_values()), endpoints, Loops()))
    assert endpoints.calls == [ENDPOINT, ENDPOINT]


class Outputs:
    """The data bucket as ProcessReview reads it: one loop's output.json."""

    name = "data"

    def __init__(self, output: dict[str, Any]) -> None:
        self.output = output

    def get(self, key: str) -> bytes:
        return json.dumps(self.output).encode()


def test_a_language_lines_uncertain_prediction_is_reviewed_into_that_lines_data(table: Any) -> None:
    """Given an uncertain prediction of the Spanish line's model, when the selection starts its loop and the
    loop's answer is processed, then the reviewed row joins the label buffer with the line (its upload goes
    to train/new/es/, not the default line's data)."""
    from dataclasses import replace

    from comprehend_al.a2i import process_review
    from comprehend_al.predict import ClassifyRequest, classify
    from comprehend_al.review_selection import select_for_review

    loops = Loops()
    ssm = Ssm(ssm_values())
    pointer = json.dumps({"model_arn": MODEL, "endpoint_arn": ENDPOINT})
    ssm.values["/comprehend-al/classifier/lines/es/active"] = pointer
    deps = classify_deps(table, ssm, Endpoints({ENDPOINT}, UNSURE), loops)
    result = classify(ClassifyRequest(text="¿dónde está mi reembolso?"), replace(deps, line="es"))
    assert result.review.reason == "queued"

    select_for_review(select_deps(table, ssm, loops))

    [(name, _, content)] = loops.started
    assert content["line"] == "es"
    answers = [{"answerContent": {f"label-{result.prediction_id}": "SHIPPING"}}]
    output = {"humanLoopName": name, "inputContent": content, "humanAnswers": answers}
    event = {
        "detail": {
            "humanLoopName": name,
            "humanLoopStatus": "Completed",
            "humanLoopOutput": {"outputS3Uri": "s3://data/review/output/x/output.json"},
        }
    }
    process_review(event, replace(deps.labels, bucket=Outputs(output)))  # type: ignore[arg-type]
    [row] = deps.labels.buffer.pending()
    assert (row.line, row.labels, row.source) == ("es", ("SHIPPING",), "review")
