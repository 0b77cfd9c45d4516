"""Header lines are skipped and reported; labels below the minimum wait instead of blocking the others."""

from __future__ import annotations

from typing import Any

import pytest
from comprehend_al.datasets.classification import Row, parse_upload
from comprehend_al.datasets.entities import (
    Annotation,
    EntityLimits,
    EntityUpload,
    validate_upload,
    waiting_types,
)
from comprehend_al.errors import InvalidTrainingData, Problem
from comprehend_al.kinds import Merged
from comprehend_al.kinds.classifier import ClassifierData
from comprehend_al.settings import Settings

BODY = b"BILLING,charged twice\nSHIPPING,parcel late\n"


def parse(data: bytes) -> tuple[list[Row], list[Problem]]:
    warnings: list[Problem] = []
    rows = parse_upload(data, file="upload.csv", multi_label=False, warnings=warnings)
    return rows, warnings


@pytest.mark.parametrize(
    "header", [b"label,text", b"class,text", b"category,document", b"Label,Text", b"text,label"]
)
def test_a_header_line_is_skipped_and_reported_not_made_a_class(header: bytes) -> None:
    """Given an upload whose first line is a header, when it is parsed, then the header is no class, a
    warning names its line, and every other row is kept."""
    rows, warnings = parse(header + b"\n" + BODY)

    assert [r.labels for r in rows] == [("BILLING",), ("SHIPPING",)]
    assert [(w.line, w.field) for w in warnings] == [(1, "record")]
    assert "header" in warnings[0].reason


def test_the_entity_annotations_header_in_a_csv_upload_is_named_as_such() -> None:
    rows, warnings = parse(b"File,Line,Begin Offset,End Offset,Type\n" + BODY)

    assert len(rows) == 2 and "annotations" in warnings[0].reason


def test_a_header_word_after_the_first_line_is_data() -> None:
    """Only the first record can be a header: ``label,text`` further down is a labelled document."""
    rows, warnings = parse(BODY + b"label,text\n")

    assert [r.labels for r in rows][-1] == ("label",) and warnings == []


def test_an_upload_holding_only_a_header_is_invalid() -> None:
    with pytest.raises(InvalidTrainingData):
        parse(b"label,text\n")


def test_the_annotations_header_in_a_documents_file_is_skipped_and_reported() -> None:
    documents = b"File,Line,Begin Offset,End Offset,Type\nAlice Smith works here .\n"
    annotations = b"File,Line,Begin Offset,End Offset,Type\ndocuments.txt,1,0,11,PERSON\n"

    upload = validate_upload(documents, annotations, documents_file="documents.txt", annotations_file="a.csv")

    assert upload.documents == ["Alice Smith works here ."]
    assert upload.annotations == [Annotation(0, 0, 11, "PERSON")]
    assert any("annotations header" in w.reason and w.line == 1 for w in upload.warnings)


# --- labels that wait --------------------------------------------------------------------------------
class _Data(ClassifierData):
    """The classifier's data rules with the fixed test set given in memory."""

    def __init__(self, test_labels: list[str] | None, **env: Any) -> None:
        settings = Settings.model_validate(
            {
                "DATA_BUCKET": "b",
                "REGISTRY_TABLE": "t",
                "PARAMETER_PREFIX": "/p",
                "MIN_DOCS_PER_LABEL": "10",
                **env,
            }
        )
        super().__init__(settings, None)  # type: ignore[arg-type]
        self.test_labels = test_labels

    def _test_rows(self) -> list[Any]:
        return [Row((label,), f"test {i}") for i, label in enumerate(self.test_labels or [])]


def merged(counts: dict[str, int]) -> Merged:
    rows = [Row((label,), f"{label} {i}") for label, n in counts.items() for i in range(n)]
    return Merged(rows, len(rows), counts, len(rows), 0, [])


def test_a_label_below_the_minimum_waits_and_the_others_train() -> None:
    """Given 3 documents of REFUND beside 12 of two other labels, when the dataset is split, then
    REFUND's rows wait (counted: 3 of 10) and the other labels train without them."""
    data = _Data(["BILLING", "SHIPPING", "REFUND"])

    split = data.split_waiting(merged({"BILLING": 12, "SHIPPING": 12, "REFUND": 3}), test=object())  # type: ignore[arg-type]

    assert split.waiting == {"REFUND": 3}
    assert split.notes == ["label 'REFUND': 3 of 10 documents"]
    assert split.trainable.label_counts == {"BILLING": 12, "SHIPPING": 12}
    assert split.trainable.documents == 24
    assert split.unknown_test_labels == ["REFUND"]  # reported: the model cannot know it yet


def test_a_label_missing_from_the_test_set_waits_too() -> None:
    data = _Data(["BILLING", "SHIPPING"])

    split = data.split_waiting(merged({"BILLING": 12, "SHIPPING": 12, "REFUND": 30}), test=object())  # type: ignore[arg-type]

    assert split.waiting == {"REFUND": 30} and "not in the fixed test set" in split.notes[0]


def test_multi_label_rows_lose_only_their_waiting_labels() -> None:
    data = _Data(None, CLASSIFIER_MODE="MULTI_LABEL")
    rows = [Row(("A", "RARE"), "one"), Row(("RARE",), "two")] + [Row(("A",), f"a {i}") for i in range(11)]

    split = data.split_waiting(Merged(rows, len(rows), {"A": 12, "RARE": 2}, 0, 0, []), test=None)

    assert split.waiting == {"RARE": 2}
    assert Row(("A",), "one") in split.trainable.data and len(split.trainable.data) == 12


def test_entity_types_under_the_minimums_wait() -> None:
    documents = [f"doc {i}" for i in range(30)]
    annotations = [Annotation(i, 0, 3, "PERSON") for i in range(30)] + [Annotation(0, 4, 5, "RARE")]
    dataset = EntityUpload(documents, annotations)

    waiting, notes = waiting_types(dataset, {"PERSON", "RARE"}, limits=EntityLimits())

    assert waiting == {"RARE": 1} and notes == ["entity type 'RARE': 1 of 25 annotations, 1 of 3 documents"]
