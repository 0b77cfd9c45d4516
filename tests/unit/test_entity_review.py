"""Entity review selection: span uncertainty (pure), the loop's input, and the decision behind the gate.

The gate is the classifier's (:class:`ReviewGate`) with the entity budget's own counter, on DynamoDB in moto
(no socket); the A2I runtime and DescribeEntityRecognizer are in-memory fakes that record what they got.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from comprehend_al.aws.s3 import Bucket
from comprehend_al.entity_at_rest import (
    AtRestDeps,
    AtRestRequest,
    read_documents,
    review_at_rest,
    review_documents,
)
from comprehend_al.entity_loops import (
    BUDGET_SCOPE,
    REVIEW_BUDGET,
    REVIEW_FLOW,
    REVIEW_GOLD_RATE,
    REVIEW_STRATEGY,
    REVIEW_THRESHOLD,
    EntityReviewer,
)
from comprehend_al.entity_review import (
    EntityItem,
    EntityReviewPolicy,
    EntityStrategy,
    Span,
    assess_entities,
    entity_loop_name,
    loop_input,
    rank,
)
from comprehend_al.errors import InvalidField, InvalidRequest, ResourceLimitExceeded
from comprehend_al.store.review_gate import ReviewGate
from moto import mock_aws

from tests.fakes import create_key_table

LC = EntityStrategy.LEAST_CONFIDENCE
ANY = EntityStrategy.ANY_ERROR
FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/comprehend-al-review"
MODEL = (
    "arn:aws:comprehend:us-east-1:123456789012:entity-recognizer/comprehend-al-entity-recognizer/version/v1"
)
TEXT = "Priya Tanaka of Harborview Energy Corp. said QXT rose."


def ent(begin: int, end: int, type_: str, score: float) -> dict[str, Any]:
    return {"BeginOffset": begin, "EndOffset": end, "Type": type_, "Score": score}


# --- uncertainty of a document ---------------------------------------------------------------------------
def test_least_confidence_selects_a_document_whose_least_sure_span_is_below_the_threshold() -> None:
    """Given spans at 0.99 and 0.55, when assessed at threshold 0.8, then it is uncertain by 0.45."""
    found = assess_entities([ent(0, 12, "PERSON", 0.99), ent(16, 39, "COMPANY", 0.55)], LC, 0.8, TEXT)

    assert found.uncertain and found.uncertainty == pytest.approx(0.45)
    assert (found.spans, found.uncertain_spans) == (2, 1)


def test_a_document_whose_spans_are_all_sure_is_not_selected() -> None:
    found = assess_entities([ent(0, 12, "PERSON", 0.99), ent(45, 48, "TICKER", 0.97)], LC, 0.8, TEXT)

    assert not found.uncertain and found.uncertain_spans == 0


def test_any_error_ranks_many_fairly_sure_spans_above_one_doubtful_span() -> None:
    """Given five spans at 0.85 (0.44 that all are right) and one span at 0.6, when assessed by any_error,
    then the first document is the less sure, though least confidence says the opposite."""
    many = [ent(i * 10, i * 10 + 5, "PERSON", 0.85) for i in range(5)]
    one = [ent(0, 5, "PERSON", 0.6)]

    assert assess_entities(many, ANY, 0.8).uncertainty > assess_entities(one, ANY, 0.8).uncertainty
    assert assess_entities(many, LC, 0.8).uncertainty < assess_entities(one, LC, 0.8).uncertainty
    assert assess_entities(many, ANY, 0.8).uncertain and not assess_entities(many, LC, 0.8).uncertain


def test_touching_spans_of_two_types_are_a_boundary_dispute_whatever_their_scores() -> None:
    """Given "Harborview Energy" COMPANY touching "Corp." PERSON (one space apart), both scored 0.95, then
    both spans are uncertain (a name split between two types) and the document is selected."""
    text = "Harborview Energy Corp. rose."
    found = assess_entities([ent(0, 17, "COMPANY", 0.95), ent(18, 23, "PERSON", 0.95)], LC, 0.8, text)

    assert found.boundary_spans == 2 and found.uncertain_spans == 2
    assert found.uncertain and found.uncertainty == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("second", "text"),
    [
        (ent(18, 23, "COMPANY", 0.95), "Harborview Energy Corp. rose."),  # same type: one name, two spans
        (ent(22, 27, "PERSON", 0.95), "Harborview Energy and Priya rose."),  # a word between them
    ],
)
def test_spans_of_one_type_or_apart_are_no_dispute(second: dict[str, Any], text: str) -> None:
    found = assess_entities([ent(0, 17, "COMPANY", 0.95), second], LC, 0.8, text)

    assert found.boundary_spans == 0 and not found.uncertain


def test_a_document_without_spans_is_not_selected() -> None:
    found = assess_entities([], ANY, 0.99, "nothing here")

    assert not found.uncertain and found.uncertainty == 0.0


def test_rank_puts_the_most_uncertain_first_and_breaks_ties_by_uncertain_spans() -> None:
    docs = [
        [ent(0, 5, "PERSON", 0.9)],
        [ent(0, 5, "PERSON", 0.5)],
        [ent(0, 5, "PERSON", 0.5), ent(10, 15, "TICKER", 0.7)],
        [],
    ]
    assessments = [assess_entities(d, LC, 0.8) for d in docs]

    assert rank(assessments, 3) == [2, 1, 0]
    assert rank(assessments, 0) == []


def test_policy_reads_the_ssm_strings_and_refuses_wrong_ones() -> None:
    assert EntityReviewPolicy.parse(None, None, None) == EntityReviewPolicy()
    assert EntityReviewPolicy.parse(" ANY_ERROR ", "0.5", "7") == EntityReviewPolicy(ANY, 0.5, 7)
    with pytest.raises(ValueError, match="not one of"):
        EntityReviewPolicy.parse("margin", None, None)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        EntityReviewPolicy.parse(None, "1.5", None)


# --- the loop's input: the annotation tool's contract ----------------------------------------------------
def test_loop_input_is_prefilled_with_the_models_spans_and_offers_every_type() -> None:
    item = EntityItem("a1", TEXT, (Span(0, 12, "PERSON", 0.41),))

    content = loop_input([item], ["TICKER", "COMPANY", "PERSON"], model_version="v1")

    assert content == {
        "kind": "entities",
        "items": [
            {
                "id": "a1",
                "text": TEXT,
                "entities": [{"BeginOffset": 0, "EndOffset": 12, "Type": "PERSON", "Score": 0.41}],
            }
        ],
        "types": ["COMPANY", "PERSON", "TICKER"],
        "modelVersion": "v1",
    }


def test_loop_input_refuses_duplicate_ids_and_no_items() -> None:
    item = EntityItem("a1", TEXT, ())
    with pytest.raises(InvalidRequest, match="unique"):
        loop_input([item, item], ["PERSON"])
    with pytest.raises(InvalidRequest, match="at least one"):
        loop_input([], ["PERSON"])


def test_loop_names_are_valid_a2i_names() -> None:
    assert entity_loop_name("3F2A_b.c") == "e-3f2a-b-c"
    assert len(entity_loop_name("x" * 200)) == 63


# --- the decision behind the gate ------------------------------------------------------------------------
@dataclass
class Params:
    values: dict[str, str]

    def get(self, name: str, *, force: bool = False) -> str | None:
        return self.values.get(name)


@dataclass
class Loops:
    started: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: Exception | None = None

    def start(self, name: str, flow: str, content: dict[str, Any]) -> str:
        if self.fail:
            raise self.fail
        self.started[name] = json.loads(json.dumps(content))
        return f"arn:aws:sagemaker:us-east-1:123456789012:human-loop/{name}"


class Comprehend:
    def __init__(self) -> None:
        self.described = 0

    def describe_entity_recognizer(self, EntityRecognizerArn: str) -> dict[str, Any]:
        self.described += 1
        types = [{"Type": t} for t in ("TICKER", "PERSON", "COMPANY")]
        return {"EntityRecognizerProperties": {"InputDataConfig": {"EntityTypes": types}}}


@pytest.fixture
def gate() -> Iterator[ReviewGate]:
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        create_key_table(resource, "predictions")
        yield ReviewGate("predictions", resource, budget_scope=BUDGET_SCOPE)


def reviewer(gate: ReviewGate, budget: int = 10, **params: str) -> EntityReviewer:
    values = {REVIEW_FLOW: FLOW, REVIEW_BUDGET: str(budget), REVIEW_THRESHOLD: "0.8", **params}
    ids = iter(f"id{i}" for i in range(1000))
    return EntityReviewer(Params(values), gate, Loops(), Comprehend(), new_id=lambda: next(ids))  # type: ignore[arg-type]


UNSURE = [ent(0, 12, "PERSON", 0.41)]


def test_an_uncertain_document_starts_one_loop_with_the_models_types(gate: ReviewGate) -> None:
    r = reviewer(gate)

    decision = r.decide(TEXT, UNSURE, model_arn=MODEL, model_version="v1")

    assert decision.selected and decision.reason == "selected" and decision.human_loop_name == "e-id0"
    content = r.review.started["e-id0"]  # type: ignore[attr-defined]
    assert content["kind"] == "entities" and content["types"] == ["COMPANY", "PERSON", "TICKER"]
    assert content["items"][0]["entities"][0]["Type"] == "PERSON" and content["modelVersion"] == "v1"


def test_the_same_text_goes_to_entity_review_once(gate: ReviewGate) -> None:
    r = reviewer(gate)
    r.decide(TEXT, UNSURE, model_arn=MODEL, model_version="v1")

    again = r.decide(TEXT, UNSURE, model_arn=MODEL, model_version="v2")

    assert not again.selected and again.reason == "duplicate"
    assert r.comprehend.described == 1  # the model's types are described once per model


def test_the_entity_budget_is_its_own_and_stops_loops_when_spent(gate: ReviewGate) -> None:
    """Given an entity budget of 2, when three uncertain texts come, then the third waits; the classifier's
    budget (the same table, the default counter) is untouched."""
    r = reviewer(gate, budget=2)

    reasons = [r.decide(f"{TEXT} {i}", UNSURE, model_arn=MODEL, model_version="v1").reason for i in range(3)]

    assert reasons == ["selected", "selected", "budget_exhausted"]
    assert gate.used_today() == 2
    classifier_gate = ReviewGate("predictions", boto3.resource("dynamodb", region_name="us-east-1"))
    assert classifier_gate.used_today() == 0


def test_a_confident_document_or_no_flow_starts_nothing(gate: ReviewGate) -> None:
    r = reviewer(gate)
    assert r.decide(TEXT, [ent(0, 12, "PERSON", 0.99)], model_arn=MODEL, model_version="v1").reason == (
        "confident"
    )
    off = reviewer(gate, **{REVIEW_FLOW: ""})
    assert off.decide(TEXT, UNSURE, model_arn=MODEL, model_version="v1").reason == "review_not_configured"
    assert gate.used_today() == 0


def test_a_loop_that_fails_to_start_gives_back_the_text_and_the_budget(gate: ReviewGate) -> None:
    r = reviewer(gate, budget=1)
    r.review.fail = ResourceLimitExceeded("too many loops")  # type: ignore[attr-defined]

    failed = r.decide(TEXT, UNSURE, model_arn=MODEL, model_version="v1")
    r.review.fail = None  # type: ignore[attr-defined]
    retried = r.decide(TEXT, UNSURE, model_arn=MODEL, model_version="v1")

    assert failed.reason == "review_failed" and retried.reason == "selected"


def test_documents_at_rest_send_the_most_uncertain_first_until_the_budget_is_spent(gate: ReviewGate) -> None:
    scores = {"a": 0.7, "b": 0.3, "c": 0.95, "d": 0.5}
    r = reviewer(gate, budget=2, **{REVIEW_STRATEGY: "least_confidence"})

    result = review_at_rest(
        list(scores),
        lambda text: [ent(0, 1, "PERSON", scores[text])],
        r,
        model_arn=MODEL,
        model_version="v1",
    )

    sent = [c["items"][0]["text"] for c in r.review.started.values()]  # type: ignore[attr-defined]
    assert sent == ["b", "d"]  # 0.3, then 0.5; "a" (0.7) waits for tomorrow's budget, "c" is sure
    assert (result.documents, result.uncertain, result.started) == (4, 3, 2)
    assert result.reasons == {"selected": 2, "budget_exhausted": 1}


# --- documents at rest: the file ---------------------------------------------------------------------------
def test_a_documents_file_is_read_one_document_per_line_leaving_out_empty_and_oversized_lines() -> None:
    data = ("first doc\n\n" + "x" * 5001 + "\r\nlast doc\n").encode()

    documents, skipped = read_documents(data, "s3://b/review/entities/f.txt")

    assert documents == ["first doc", "last doc"]
    assert skipped == {"empty": 1, "too_large": 1}


def test_a_documents_file_that_is_not_utf8_is_refused_naming_file_and_line() -> None:
    with pytest.raises(InvalidField, match=r"s3://b/review/entities/f.txt line 2: not UTF-8"):
        read_documents(b"fine\nbad \xff byte\n", "s3://b/review/entities/f.txt")


@pytest.mark.parametrize(
    "uri",
    ["s3://other/review/entities/f.txt", "s3://data/train/new/f.txt", "s3://data/review/entities/", "f.txt"],
)
def test_documents_at_rest_must_be_a_file_under_the_review_prefix_of_the_data_bucket(uri: str) -> None:
    deps = AtRestDeps(bucket=Bucket("data", client=object()), pointers=None, comprehend=None, reviewer=None)  # type: ignore[arg-type]

    with pytest.raises(InvalidField, match="review/entities/"):
        review_documents(AtRestRequest(documents=uri), deps)


def test_a_share_of_the_loops_carries_one_gold_document_among_the_items(gate: ReviewGate) -> None:
    """Given a gold rate of 1 and a gold set, when an uncertain text is sent, then its loop holds the text
    and one gold document (id, text and pre-filled spans only: the known answer stays on the server)."""
    from comprehend_al.annotation.gold import GoldDocument
    from comprehend_al.annotation.spans import Span as GoldSpan

    gold = GoldDocument(
        "g-1",
        "Lars Brandt spoke.",
        ({"BeginOffset": 0, "EndOffset": 4, "Type": "PERSON"},),
        (GoldSpan(0, 11, "PERSON"),),
    )
    r = reviewer(gate, **{REVIEW_GOLD_RATE: "1"})
    r.gold = lambda: [gold]

    r.decide(TEXT, UNSURE, model_arn=MODEL, model_version="v1")

    [content] = r.review.started.values()  # type: ignore[attr-defined]
    assert sorted(i["id"] for i in content["items"]) == ["g-1", "id0"]
    assert {"id": "g-1", "text": gold.text, "entities": list(gold.entities)} in content["items"]
    assert all(set(i) == {"id", "text", "entities"} for i in content["items"])


def test_no_gold_rate_means_no_gold_document(gate: ReviewGate) -> None:
    r = reviewer(gate)
    r.gold = lambda: pytest.fail("the gold set is read only when a loop is to carry one")  # type: ignore[assignment,return-value]

    r.decide(TEXT, UNSURE, model_arn=MODEL, model_version="v1")

    [content] = r.review.started.values()  # type: ignore[attr-defined]
    assert [i["id"] for i in content["items"]] == ["id0"]
