"""Taxonomy=flat: path labels in uploads become class names the label rules accept, read back as paths."""

from __future__ import annotations

import pytest
from comprehend_al.datasets.classification import label_problems, parse_upload
from comprehend_al.errors import InvalidTrainingData
from comprehend_al.hierarchy import FLAT, NESTED, decode_class, encode_class, flat_levels, path_problems


def check(label: str) -> list[str]:
    return label_problems(label, multi_label=False, delimiter="|", max_chars=5000)


@pytest.mark.parametrize(
    "path", ["Orders/Refund", "Orders", "Service Desk/Password reset", "a_b/c-d.e", "Ä/ß"]
)
def test_a_path_round_trips_through_a_class_name_the_label_rules_accept(path: str) -> None:
    """Given a valid path, when it is encoded, then the class name has no '/', passes the upload rules,
    and decodes to the same path."""
    name = encode_class(path)
    assert "/" not in name and check(name) == []
    assert path_problems(path, check) == []
    assert decode_class(name) == path


@pytest.mark.parametrize(
    "label", ["Orders__x/Refund", "Orders/Re__fund", "Orders_/Refund", "Orders/_Refund", "A__B"]
)
def test_a_level_holding_the_reserved_separator_is_refused_with_a_clear_reason(label: str) -> None:
    """Given a label whose level holds '__' (or begins/ends with '_', which would run into it), then it is
    refused, saying why: '__' joins the levels in the model's class names."""
    reasons = path_problems(label, check)
    assert reasons and "'__'" in reasons[-1] and "Taxonomy=flat" in reasons[-1]


def test_each_level_is_checked_by_the_upload_rules_and_paths_have_two_levels() -> None:
    assert any("contains '!'" in r for r in path_problems("Orders/Re!fund", check))
    assert path_problems("Orders/", check) == ["label is empty"]
    assert "at most 2" in path_problems("A/B/C", check)[0]


UPLOAD = b"Orders/Refund,I want my money back\nOrders/Late,where is my parcel\nService,the app crashes\n"


def test_a_flat_upload_is_accepted_and_stored_with_encoded_class_names() -> None:
    """Given Taxonomy=flat, when a path-labelled upload is parsed, then its rows carry the class names."""
    rows = parse_upload(UPLOAD, file="train/new/t.csv", multi_label=False, taxonomy=FLAT)
    assert [row.labels for row in rows] == [("Orders__Refund",), ("Orders__Late",), ("Service",)]
    # a stored file is read back without the taxonomy rules: its class names are valid labels
    stored = b"".join(f"{row.labels[0]},{row.text}\n".encode() for row in rows)
    assert parse_upload(stored, file="datasets/x.csv", multi_label=False) == rows


@pytest.mark.parametrize("taxonomy", ["", NESTED])
def test_without_a_flat_taxonomy_a_path_label_is_still_refused_naming_file_line_and_field(
    taxonomy: str,
) -> None:
    with pytest.raises(InvalidTrainingData) as caught:
        parse_upload(UPLOAD, file="train/new/t.csv", multi_label=False, taxonomy=taxonomy)
    problems = caught.value.problems
    assert [(p.file, p.line, p.field) for p in problems] == [
        ("train/new/t.csv", 1, "label"),
        ("train/new/t.csv", 2, "label"),
    ]
    assert "'/'" in problems[0].reason


def test_a_flat_upload_with_the_reserved_separator_is_refused_at_its_line() -> None:
    data = b"Orders/Refund,money back\nOrders__x/Late,late parcel\n"
    with pytest.raises(InvalidTrainingData) as caught:
        parse_upload(data, file="train/new/t.csv", multi_label=False, taxonomy=FLAT)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == ("train/new/t.csv", 2, "label")
    assert "'__'" in problem.reason


def test_a_flat_models_decoded_class_names_give_both_levels() -> None:
    classes = [
        (decode_class(n), s) for n, s in [("Orders__Refund", 0.6), ("Orders__Late", 0.3), ("Service", 0.1)]
    ]
    parent, child = flat_levels(classes, "v1")
    assert (parent.label, parent.score, child.label, child.score) == ("Orders", 0.9, "Refund", 0.6)


def test_a_reviewers_path_answer_is_taken_in_flat_mode_and_refused_otherwise() -> None:
    """Given a review loop whose choices are a flat model's paths, when a reviewer picks one, then the
    answer is a reviewed row with the path (no taxonomy: the '/' is refused as before)."""
    from comprehend_al.a2i import parse_output

    paths = ["ORDERS/BILLING", "ORDERS/SHIPPING", "SERVICE/TECHNICAL"]
    output = {
        "humanAnswers": [{"answerContent": {"label-1": "ORDERS/SHIPPING"}, "workerId": "w0"}],
        "inputContent": {"items": [{"id": "1", "text": "where is it"}], "labels": paths, "multiLabel": False},
    }
    [row] = parse_output(output, taxonomy=FLAT).reviewed
    assert row.labels == ("ORDERS/SHIPPING",)
    assert parse_output(output).rejected == ("label-1",)
