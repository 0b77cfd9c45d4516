"""Entity-level metrics and the reader of Comprehend's entity-detection job output."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from comprehend_al.datasets.entities import Annotation
from comprehend_al.entity_metrics import EntityPrediction, evaluate_entities, read_entities_output
from comprehend_al.errors import EvaluationFailed


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def jsonl(*records: object) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def entity(begin: int, end: int, type_: str, score: float = 0.9, text: str = "x") -> dict[str, object]:
    return {"BeginOffset": begin, "EndOffset": end, "Score": score, "Text": text, "Type": type_}


# --- evaluate_entities: hand-checked ----------------------------------------------------------------
GOLD = [
    Annotation(0, 0, 5, "PERSON"),
    Annotation(0, 10, 15, "LOCATION"),
    Annotation(1, 0, 3, "ORGANIZATION"),
    Annotation(1, 8, 12, "PERSON"),
]
PREDICTED = [
    Annotation(0, 0, 5, "PERSON"),  # exact: TP
    Annotation(0, 10, 15, "ORGANIZATION"),  # right span, wrong type: FP (and the LOCATION is a FN)
    Annotation(1, 0, 4, "ORGANIZATION"),  # right type, span one character too long: FP (+ FN)
    Annotation(1, 8, 12, "PERSON"),  # exact: TP
    Annotation(1, 20, 25, "MISC"),  # spurious: FP
]


def test_overall_figures_are_micro_averaged_exact_matches() -> None:
    metrics = evaluate_entities(GOLD, PREDICTED, documents=2)

    # TP = 2, predicted = 5, gold = 4: P = 2/5 = 0.4, R = 2/4 = 0.5, F1 = 2*0.4*0.5/0.9 = 0.4444...
    assert metrics.Precision == pytest.approx(0.4)
    assert metrics.Recall == pytest.approx(0.5)
    assert metrics.F1Score == pytest.approx(4 / 9)
    assert metrics.documents == 2


def test_per_type_figures_count_each_type_separately() -> None:
    per_type = evaluate_entities(GOLD, PREDICTED, documents=2).per_type

    # PERSON: gold 2, predicted 2, TP 2 -> 1 / 1 / 1
    assert (per_type["PERSON"].Precision, per_type["PERSON"].Recall, per_type["PERSON"].F1Score) == (1, 1, 1)
    # ORGANIZATION: gold 1, predicted 2 (wrong span, and the relabelled LOCATION), TP 0 -> 0 / 0 / 0
    org = per_type["ORGANIZATION"]
    assert (org.support, org.predicted, org.true_positives, org.F1Score) == (1, 2, 0, 0)
    # LOCATION: gold 1, never predicted: precision is 0/0 -> 0 by convention, recall 0/1 = 0
    loc = per_type["LOCATION"]
    assert (loc.support, loc.predicted, loc.Precision, loc.Recall) == (1, 0, 0, 0)
    # MISC: predicted once, not in the gold set: precision 0/1 = 0, recall 0/0 -> 0
    misc = per_type["MISC"]
    assert (misc.support, misc.predicted, misc.Precision, misc.Recall) == (0, 1, 0, 0)
    assert list(per_type) == ["LOCATION", "MISC", "ORGANIZATION", "PERSON"]


def test_micro_average_weights_frequent_types_more_than_a_macro_average_would() -> None:
    gold = [Annotation(i, 0, 4, "PERSON") for i in range(9)] + [Annotation(9, 0, 4, "LOCATION")]
    predicted = [Annotation(i, 0, 4, "PERSON") for i in range(9)]  # LOCATION missed

    metrics = evaluate_entities(gold, predicted, documents=10)

    # micro: P = 9/9 = 1, R = 9/10 = 0.9, F1 = 2*0.9/1.9 = 0.947...; a macro F1 would be (1 + 0)/2 = 0.5
    assert metrics.Precision == 1.0
    assert metrics.Recall == pytest.approx(0.9)
    assert metrics.F1Score == pytest.approx(18 / 19)


def test_same_span_in_another_document_does_not_match() -> None:
    metrics = evaluate_entities([Annotation(0, 0, 5, "PERSON")], [Annotation(1, 0, 5, "PERSON")], documents=2)

    assert (metrics.Precision, metrics.Recall, metrics.F1Score) == (0, 0, 0)


def test_no_gold_and_no_predictions_scores_zero_not_an_error() -> None:
    metrics = evaluate_entities([], [], documents=3)

    assert (metrics.Precision, metrics.Recall, metrics.F1Score, metrics.per_type) == (0, 0, 0, {})


def test_a_repeated_prediction_counts_once() -> None:
    metrics = evaluate_entities(GOLD[:1], [GOLD[0], GOLD[0]], documents=2)

    assert (metrics.Precision, metrics.Recall) == (1, 1)


def test_predictions_score_the_output_of_the_reader_directly() -> None:
    predictions = [EntityPrediction(0, 0, 5, "PERSON", 0.99, "documents.txt")]

    metrics = evaluate_entities(GOLD, predictions, documents=2)

    assert metrics.per_type["PERSON"].true_positives == 1


def test_a_prediction_for_a_document_outside_the_test_set_fails_the_evaluation() -> None:
    with pytest.raises(EvaluationFailed, match="outside the test set"):
        evaluate_entities(GOLD, [Annotation(2, 0, 5, "PERSON")], documents=2)


def test_f1_is_the_selection_metric_named_accuracy() -> None:
    metrics = evaluate_entities(GOLD, PREDICTED, documents=2)

    assert metrics.Accuracy == metrics.F1Score


# --- read_entities_output ---------------------------------------------------------------------------
def test_reads_predictions_with_line_as_int_or_string() -> None:
    data = tar_gz(
        {
            "output": jsonl(
                {"File": "documents.txt", "Line": 0, "Entities": [entity(0, 5, "PERSON", 0.97)]},
                {
                    "File": "documents.txt",
                    "Line": "1",
                    "Entities": [entity(8, 12, "PERSON"), entity(0, 3, "ORG")],
                },
                {"File": "documents.txt", "Line": 2, "Entities": []},
            )
        }
    )

    predictions = read_entities_output(data, expected_lines=3)

    assert predictions == [
        EntityPrediction(0, 0, 5, "PERSON", 0.97, "documents.txt"),
        EntityPrediction(1, 8, 12, "PERSON", 0.9, "documents.txt"),
        EntityPrediction(1, 0, 3, "ORG", 0.9, "documents.txt"),
    ]


def test_any_single_member_name_is_accepted_and_blank_lines_skipped() -> None:
    records = jsonl({"File": "d.txt", "Line": 0, "Entities": [entity(0, 1, "X")]})

    predictions = read_entities_output(
        tar_gz({"12345-NER-abc/output/predictions.jsonl": b"\n" + records + b"\n"})
    )

    assert [p.doc_index for p in predictions] == [0]


def test_invalid_json_names_the_member_and_line() -> None:
    data = tar_gz(
        {"output": jsonl({"File": "d.txt", "Line": 0, "Entities": []}) + b'{"File": "d.txt", "Line"\n'}
    )

    with pytest.raises(EvaluationFailed, match=r"^output:2: not valid JSON"):
        read_entities_output(data)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"Line": 0, "Entities": []}, "File missing"),
        ({"File": "d.txt", "Line": "first", "Entities": []}, "Line 'first'"),
        ({"File": "d.txt", "Line": -1, "Entities": []}, "Line -1"),
        ({"File": "d.txt", "Line": 0}, "Entities missing"),
        ({"File": "d.txt", "Line": 0, "Entities": [entity(5, 5, "PERSON")]}, r"Entities\[0\] offsets"),
        ({"File": "d.txt", "Line": 0, "Entities": [{"BeginOffset": 0, "EndOffset": 2}]}, "Type missing"),
        ({"File": "d.txt", "Line": 0, "Entities": [entity(0, 2, "X", score="high")]}, "Score"),  # type: ignore[arg-type]
        ([1, 2], "expected a JSON object"),
    ],
)
def test_malformed_record_names_the_member_line_and_field(record: object, message: str) -> None:
    with pytest.raises(EvaluationFailed, match=rf"^output:1: .*{message}"):
        read_entities_output(tar_gz({"output": jsonl(record)}))


def test_a_line_given_twice_fails() -> None:
    record = {"File": "d.txt", "Line": 0, "Entities": []}

    with pytest.raises(EvaluationFailed, match="already given on line 1"):
        read_entities_output(tar_gz({"output": jsonl(record, record)}))


def test_missing_test_lines_fail_when_the_test_set_size_is_given() -> None:
    data = tar_gz({"output": jsonl({"File": "d.txt", "Line": 1, "Entities": []})})

    with pytest.raises(EvaluationFailed, match="1 test document line\\(s\\) missing from the output: 0"):
        read_entities_output(data, expected_lines=2)


def test_a_line_beyond_the_test_set_fails() -> None:
    data = tar_gz({"output": jsonl({"File": "d.txt", "Line": 5, "Entities": []})})

    with pytest.raises(EvaluationFailed, match="not in the test set"):
        read_entities_output(data, expected_lines=2)


def test_an_archive_with_several_files_fails() -> None:
    with pytest.raises(EvaluationFailed, match="expected one file"):
        read_entities_output(tar_gz({"output": b"", "extra": b""}))


def test_bytes_that_are_not_an_archive_fail() -> None:
    with pytest.raises(EvaluationFailed, match=r"not a readable tar\.gz"):
        read_entities_output(b"not a tar file at all")
