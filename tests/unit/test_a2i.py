"""A2I: the loop input carries the model's labels; answers are matched to their items BY ID."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from comprehend_al.a2i import (
    HumanReview,
    ReviewItem,
    loop_name,
    output_uri_of,
    parse_output,
    review_input,
)
from comprehend_al.errors import ComprehendThrottled, InvalidRequest

from tests.fakes import comprehend_error

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "review" / "worker-task-template.liquid.html"
LABELS = ["BILLING", "SHIPPING", "TECHNICAL"]


def output(
    items: list[dict[str, Any]], answers: list[dict[str, Any]], labels: list[str] = LABELS
) -> dict[str, Any]:
    return {
        "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/comprehend-al-review",
        "humanAnswers": [
            {"answerContent": a, "workerId": f"w{i}", "submissionTime": "2025-05-01T10:00:00.000Z"}
            for i, a in enumerate(answers)
        ],
        "humanLoopName": "p-1",
        "inputContent": {"items": items, "labels": labels, "multiLabel": False},
    }


def test_review_input_lists_items_and_the_models_labels_sorted() -> None:
    """Given a prediction's classes (best first), when the loop input is built, then the choices are all the
    model's labels in a neutral (sorted) order and the item carries id, text and scores."""
    item = ReviewItem("p-1", 'a "quoted", text', (("TECHNICAL", 0.5), ("BILLING", 0.3), ("SHIPPING", 0.2)))

    content = review_input([item], ["TECHNICAL", "BILLING", "SHIPPING"])

    assert content["labels"] == LABELS
    assert content["items"] == [
        {
            "id": "p-1",
            "text": 'a "quoted", text',
            "scores": [
                {"Name": "TECHNICAL", "Score": 0.5},
                {"Name": "BILLING", "Score": 0.3},
                {"Name": "SHIPPING", "Score": 0.2},
            ],
        }
    ]
    assert json.loads(json.dumps(content)) == content


def test_review_input_refuses_duplicate_ids() -> None:
    with pytest.raises(InvalidRequest):
        review_input([ReviewItem("a", "x", ()), ReviewItem("a", "y", ())], LABELS)


def test_answers_are_matched_by_id_not_by_position_with_more_than_ten_items() -> None:
    """Given 12 items whose answers arrive in lexicographic key order (label-1, label-10, label-11, label-2…)
    and items listed in reverse, when parsed, then each text gets the label chosen for ITS id."""
    items = [{"id": str(i), "text": f"text of item {i}", "scores": []} for i in range(12, 0, -1)]
    chosen = {str(i): LABELS[i % 3] for i in range(1, 13)}
    answer = {f"label-{i}": chosen[i] for i in sorted(chosen)}  # "1", "10", "11", "12", "2", ...

    parsed = parse_output(output(items, [answer]))

    assert len(parsed.reviewed) == 12
    assert {r.text: r.labels for r in parsed.reviewed} == {f"text of item {i}": (chosen[i],) for i in chosen}
    assert parsed.unanswered == () and parsed.rejected == ()


def test_uuid_ids_and_every_answer_element_shape_are_understood() -> None:
    """Given answers from a native radio input, crowd-classifier and crowd-radio-button shapes, then each
    gives the chosen label."""
    ids = ["0d5c0f6e-6c1e-4b9a-9a57-3b5f8a1c2d3e", "1a2b3c4d-0000-4000-8000-000000000002", "x-3"]
    items = [{"id": i, "text": f"t{n}", "scores": []} for n, i in enumerate(ids)]
    answer = {
        f"label-{ids[0]}": "SHIPPING",
        f"label-{ids[1]}": {"label": "BILLING"},
        f"label-{ids[2]}": {"BILLING": False, "TECHNICAL": True},
        "comment": "hard one",
    }

    parsed = parse_output(output(items, [answer]))

    assert {r.id: r.labels for r in parsed.reviewed} == {
        ids[0]: ("SHIPPING",),
        ids[1]: ("BILLING",),
        ids[2]: ("TECHNICAL",),
    }


def test_unknown_ids_labels_outside_the_choices_and_missing_answers_are_not_buffered() -> None:
    items = [{"id": "a", "text": "ta", "scores": []}, {"id": "b", "text": "tb", "scores": []}]
    answer = {"label-a": "NOT_A_LABEL", "label-zzz": "BILLING"}

    parsed = parse_output(output(items, [answer]))

    assert parsed.reviewed == ()
    assert set(parsed.rejected) == {"label-a", "label-zzz"}
    assert set(parsed.unanswered) == {"a", "b"}


def test_new_labels_are_accepted_when_allowed() -> None:
    parsed = parse_output(
        output([{"id": "a", "text": "ta"}], [{"label-a": "REFUNDS"}]), allow_new_labels=True
    )

    assert [r.labels for r in parsed.reviewed] == [("REFUNDS",)]


def test_several_workers_majority_wins_and_a_tie_is_not_buffered() -> None:
    """Given three workers (2 vs 1) on item a and two workers split on item b, then a gets the majority label
    and b is left unanswered."""
    items = [{"id": "a", "text": "ta"}, {"id": "b", "text": "tb"}]
    answers = [
        {"label-a": "BILLING", "label-b": "BILLING"},
        {"label-a": "BILLING", "label-b": "SHIPPING"},
        {"label-a": "SHIPPING"},
    ]

    parsed = parse_output(output(items, answers))

    assert [(r.id, r.labels, r.votes, r.answers) for r in parsed.reviewed] == [("a", ("BILLING",), 2, 3)]
    assert parsed.unanswered == ("b",)


def test_multi_class_answer_with_two_labels_is_rejected() -> None:
    parsed = parse_output(
        output([{"id": "a", "text": "ta"}], [{"label-a": {"BILLING": True, "SHIPPING": True}}])
    )
    assert parsed.reviewed == () and parsed.rejected == ("label-a",)


def test_completed_event_gives_the_output_uri_and_other_statuses_are_refused() -> None:
    event: dict[str, Any] = {
        "detail-type": "SageMaker A2I HumanLoop Status Change",
        "source": "aws.sagemaker",
        "detail": {
            "humanLoopName": "p-1",
            "humanLoopStatus": "Completed",
            "humanLoopOutput": {"outputS3Uri": "s3://bucket/review/output/p-1/output.json"},
        },
    }
    assert output_uri_of(event) == ("p-1", "s3://bucket/review/output/p-1/output.json")
    event["detail"]["humanLoopStatus"] = "Failed"
    with pytest.raises(InvalidRequest):
        output_uri_of(event)


@pytest.mark.parametrize("prediction_id", ["0d5c0f6e-6c1e-4b9a-9a57-3b5f8a1c2d3e", "ABC_def--1", "x" * 100])
def test_loop_names_are_valid_human_loop_names(prediction_id: str) -> None:
    assert (
        re.fullmatch(r"[a-z0-9](-*[a-z0-9])*", loop_name(prediction_id))
        and len(loop_name(prediction_id)) <= 63
    )


class FakeA2I:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.error = error

    def start_human_loop(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {
            "HumanLoopArn": f"arn:aws:sagemaker:us-east-1:123456789012:human-loop/{kwargs['HumanLoopName']}"
        }


def test_start_sends_the_input_content_as_json() -> None:
    fake = FakeA2I()
    content = review_input([ReviewItem("p-1", "text é", (("A", 0.5), ("B", 0.5)))], ["A", "B"])

    arn = HumanReview(fake).start("p-1", "arn:flow", content)

    assert arn.endswith("human-loop/p-1")
    [call] = fake.calls
    assert call["FlowDefinitionArn"] == "arn:flow"
    assert json.loads(call["HumanLoopInput"]["InputContent"]) == content


def test_start_translates_client_errors() -> None:
    """Given A2I throttles, when a loop is started, then the adapter raises the typed error."""
    fake = FakeA2I(comprehend_error("ThrottlingException", operation="StartHumanLoop"))

    with pytest.raises(ComprehendThrottled):
        HumanReview(fake).start("p-1", "arn:flow", {"items": [], "labels": []})


def test_worker_template_names_answers_by_item_id_and_takes_labels_from_the_input() -> None:
    """Given the worker task template, then every answer is named label-<id> and the choices come from
    task.input.labels (no label is written in the page)."""
    html = TEMPLATE.read_text()

    assert "task.input.items" in html and "task.input.labels" in html
    assert re.search(r'name="label-\{\{\s*item\.id', html)
    assert "<crowd-form" in html and "crowd-html-elements.js" in html
    for label in LABELS:
        assert label not in html
