"""Evaluation of a Comprehend classification job against the gold test set.

Expected values are worked out by hand in the comments, then cross-checked against scikit-learn
(``zero_division=0``), which the deployed layer does not use.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Sequence
from typing import Any

import pytest
from comprehend_al import metrics
from comprehend_al.datasets.classification import Row
from comprehend_al.errors import EvaluationFailed, InvalidTrainingData
from comprehend_al.metrics import LabelScore, Prediction, evaluate_classifier, read_job_output
from sklearn import metrics as skm
from sklearn.preprocessing import MultiLabelBinarizer


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def jsonl(*records: Any) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def top(line: int, label: str, file: str = "test.txt") -> Prediction:
    """A multi-class prediction whose top class is ``label``."""
    return Prediction(file, line, (LabelScore(label, 0.9), LabelScore("OTHER", 0.1)), "Classes")


def labelled(line: int, labels: Sequence[str]) -> Prediction:
    """A multi-label prediction of exactly ``labels``."""
    return Prediction("test.txt", line, tuple(LabelScore(name, 0.8) for name in labels), "Labels")


# --- read_job_output --------------------------------------------------------------------------------
def test_read_job_output_reads_classes_and_zero_based_lines() -> None:
    # Given a job output with string and int line numbers
    data = jsonl(
        {
            "File": "test.txt",
            "Line": "0",
            "Classes": [{"Name": "A", "Score": 0.7}, {"Name": "B", "Score": 0.3}],
        },
        {"File": "test.txt", "Line": 1, "Classes": [{"Name": "B", "Score": 1}]},
    )
    archive = tar_gz({"predictions.jsonl": data})
    # When it is read
    predictions = read_job_output(archive)
    # Then each line becomes a prediction with an int line
    assert predictions == [
        Prediction("test.txt", 0, (LabelScore("A", 0.7), LabelScore("B", 0.3)), "Classes"),
        Prediction("test.txt", 1, (LabelScore("B", 1.0),), "Classes"),
    ]


def test_read_job_output_reads_multi_label_labels() -> None:
    # Given a multi-label job output
    data = jsonl({"File": "t.txt", "Line": "0", "Labels": [{"Name": "X", "Score": 0.6}]})
    # When it is read
    (prediction,) = read_job_output(tar_gz({"predictions.jsonl": data}))
    # Then the source is Labels
    assert prediction.source == "Labels"


def test_read_job_output_finds_predictions_in_a_folder_and_skips_blank_lines() -> None:
    # Given the predictions file in a folder with a trailing blank line
    data = jsonl({"File": "t.txt", "Line": 0, "Classes": [{"Name": "A", "Score": 1.0}]}) + b"\n"
    # When it is read
    predictions = read_job_output(tar_gz({"output/predictions.jsonl": data}))
    # Then the one prediction is found
    assert len(predictions) == 1


def test_read_job_output_without_predictions_file_fails() -> None:
    # Given an archive without predictions.jsonl
    archive = tar_gz({"other.txt": b"x"})
    # When it is read, Then the failure names the missing file
    with pytest.raises(EvaluationFailed, match=r"no predictions\.jsonl"):
        read_job_output(archive)


def test_read_job_output_of_non_archive_fails() -> None:
    # Given bytes that are not a tar.gz
    # When they are read, Then the archive is reported unreadable
    with pytest.raises(EvaluationFailed, match="not a readable"):
        read_job_output(b"not a tarball")


def test_read_job_output_bad_json_names_file_and_line() -> None:
    # Given bad JSON on the second line
    data = jsonl({"File": "t.txt", "Line": 0, "Classes": []}) + b"{not json\n"
    # When it is read, Then the failure names predictions.jsonl line 2
    with pytest.raises(EvaluationFailed, match=r"predictions\.jsonl:2: not valid JSON"):
        read_job_output(tar_gz({"predictions.jsonl": data}))


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"Line": 0, "Classes": []}, "File"),
        ({"File": "t", "Classes": []}, "Line"),
        ({"File": "t", "Line": "-1", "Classes": []}, "Line"),
        ({"File": "t", "Line": True, "Classes": []}, "Line"),
        ({"File": "t", "Line": 0}, "Classes"),
        ({"File": "t", "Line": 0, "Classes": [{"Score": 0.5}]}, "Name"),
        ({"File": "t", "Line": 0, "Classes": [{"Name": "A"}]}, "Score"),
    ],
)
def test_read_job_output_missing_or_invalid_field_fails(record: dict[str, Any], field: str) -> None:
    # Given a record with a missing or invalid field
    data = jsonl(record)
    # When it is read, Then the failure names the file, line and field
    with pytest.raises(EvaluationFailed, match=rf"predictions\.jsonl:1: .*{field}"):
        read_job_output(tar_gz({"predictions.jsonl": data}))


# --- test_documents ---------------------------------------------------------------------------------
def test_test_documents_writes_one_document_per_line() -> None:
    # Given rows whose texts hold line breaks
    rows = [Row(("A",), "one\ntwo"), Row(("B",), "three\r\nfour\rfive\u2028six")]
    # When the job input is written
    data = metrics.test_documents(rows)
    # Then every document is on one line, breaks replaced by spaces
    assert data == b"one two\nthree four five six\n"


def test_test_documents_rejects_document_that_would_be_blank() -> None:
    # Given a document made of line breaks only
    rows = [Row(("A",), "fine"), Row(("B",), "\n\n", 9)]
    # When the job input is written, Then the blank document is reported at its line
    with pytest.raises(InvalidTrainingData) as caught:
        metrics.test_documents(rows)
    assert caught.value.problems[0].line == 9


# --- joining predictions to gold --------------------------------------------------------------------
def test_evaluate_joins_by_line_not_by_order() -> None:
    # Given predictions listed out of order
    gold = ["A", "B"]
    predictions = [top(1, "B"), top(0, "A")]
    # When evaluated
    result = evaluate_classifier(gold, predictions, multi_label=False)
    # Then both are correct
    assert result.Accuracy == 1.0


def test_evaluate_missing_line_fails() -> None:
    # Given no prediction for line 1
    # When evaluated, Then the missing line is reported
    with pytest.raises(EvaluationFailed, match="no prediction for 1 of 3"):
        evaluate_classifier(["A", "B", "C"], [top(0, "A"), top(2, "C")], multi_label=False)


def test_evaluate_extra_line_fails() -> None:
    # Given a prediction for line 2 of a 2-line test set
    # When evaluated, Then the extra line is reported
    with pytest.raises(EvaluationFailed, match="beyond the 2-line test set"):
        evaluate_classifier(["A", "B"], [top(0, "A"), top(1, "B"), top(2, "B")], multi_label=False)


def test_evaluate_repeated_line_fails() -> None:
    # Given line 0 predicted twice
    # When evaluated, Then the repetition is reported
    with pytest.raises(EvaluationFailed, match="more than once"):
        evaluate_classifier(["A"], [top(0, "A"), top(0, "B")], multi_label=False)


def test_evaluate_predictions_from_two_files_fail() -> None:
    # Given predictions for two input files
    # When evaluated, Then the ambiguity is reported
    with pytest.raises(EvaluationFailed, match="2 input files"):
        evaluate_classifier(["A", "B"], [top(0, "A", "a.txt"), top(1, "B", "b.txt")], multi_label=False)


def test_evaluate_empty_gold_fails() -> None:
    # Given an empty gold set
    # When evaluated, Then it is reported
    with pytest.raises(EvaluationFailed, match="empty"):
        evaluate_classifier([], [], multi_label=False)


def test_evaluate_accepts_rows_as_gold() -> None:
    # Given gold rows from the parsed test CSV
    gold = [Row(("A",), "x", 1), Row(("B",), "y", 2)]
    # When evaluated against one right and one wrong prediction
    result = evaluate_classifier(gold, [top(0, "A"), top(1, "A")], multi_label=False)
    # Then accuracy is 1/2
    assert result.Accuracy == 0.5


# --- multi-class ------------------------------------------------------------------------------------
def test_multi_class_prediction_is_top_scoring_class() -> None:
    # Given classes not listed by score
    prediction = Prediction(
        "t", 0, (LabelScore("A", 0.2), LabelScore("B", 0.7), LabelScore("C", 0.1)), "Classes"
    )
    # When evaluated against gold B
    result = evaluate_classifier(["B"], [prediction], multi_label=False)
    # Then B was predicted
    assert result.confusion_matrix == {"B": {"B": 1}}


def test_multi_class_tie_goes_to_first_listed_class() -> None:
    # Given two classes with the same score
    prediction = Prediction("t", 0, (LabelScore("A", 0.5), LabelScore("B", 0.5)), "Classes")
    # When evaluated against gold A
    result = evaluate_classifier(["A"], [prediction], multi_label=False)
    # Then the first listed (A) was predicted
    assert result.Accuracy == 1.0


def test_multi_class_rejects_multi_label_output() -> None:
    # Given a multi-label job output
    # When evaluated as multi-class, Then the mismatch is reported
    with pytest.raises(EvaluationFailed, match="multi-label"):
        evaluate_classifier(["A"], [labelled(0, ["A"])], multi_label=False)


# Hand-worked example: 3 classes, 10 documents.
#   doc   1 2 3 4 5 6 7 8 9 10
#   gold  A A A A A B B B C C      gold counts: A 5, B 3, C 2
#   pred  A A A A B B B A A B      predicted:   A 6, B 4, C 0
#   confusion: A→{A:4, B:1}  B→{A:1, B:2}  C→{A:1, B:1}     correct 6 → accuracy 0.6
#   precision A 4/6, B 2/4, C 0 (never predicted: zero_division=0) → macro (2/3+1/2+0)/3 = 7/18
#   recall    A 4/5, B 2/3, C 0/2                                  → macro (4/5+2/3+0)/3 = 22/45
#   F1 = 2TP/(gold+pred): A 8/11, B 4/7, C 0                       → macro (8/11+4/7)/3 = 100/231
#   micro P = R = F1 = accuracy = 0.6
GOLD_3 = list("AAAAABBBCC")
PRED_3 = list("AAAABBBAAB")


def evaluate_3() -> Any:
    predictions = [top(i, label) for i, label in enumerate(PRED_3)]
    return evaluate_classifier(GOLD_3, predictions, multi_label=False)


def test_multi_class_hand_worked_confusion_matrix() -> None:
    # Given the 10-document example, When evaluated
    result = evaluate_3()
    # Then the non-zero cells match the hand count
    assert result.confusion_matrix == {"A": {"A": 4, "B": 1}, "B": {"A": 1, "B": 2}, "C": {"A": 1, "B": 1}}


def test_multi_class_hand_worked_macro_scores() -> None:
    # Given the 10-document example, When evaluated
    result = evaluate_3()
    # Then accuracy and macro scores match the hand computation
    assert (result.Accuracy, result.Precision, result.Recall, result.F1Score) == pytest.approx(
        (0.6, 7 / 18, 22 / 45, 100 / 231)
    )


def test_multi_class_hand_worked_micro_scores_equal_accuracy() -> None:
    # Given the 10-document example, When evaluated
    result = evaluate_3()
    # Then micro scores equal accuracy and Hamming loss is not reported
    assert (result.MicroPrecision, result.MicroRecall, result.MicroF1Score) == pytest.approx((0.6, 0.6, 0.6))
    assert result.HammingLoss is None
    assert (result.documents, result.labels) == (10, ["A", "B", "C"])


def test_multi_class_hand_worked_example_matches_scikit_learn() -> None:
    # Given the 10-document example, When evaluated
    result = evaluate_3()
    # Then scikit-learn agrees
    p, r, f, _ = skm.precision_recall_fscore_support(GOLD_3, PRED_3, average="macro", zero_division=0)
    assert (result.Precision, result.Recall, result.F1Score) == pytest.approx((p, r, f))
    assert result.Accuracy == pytest.approx(skm.accuracy_score(GOLD_3, PRED_3))


# Predicted label absent from gold: gold A A B B, pred A D B B; labels = {A, B, D}
#   precision A 1/1, B 2/2, D 0/1 → 2/3;  recall A 1/2, B 2/2, D 0 (no gold: zero_division=0) → 1/2
#   F1 A 2/3, B 1, D 0 → 5/9
def test_label_only_predicted_counts_in_macro_average() -> None:
    # Given a prediction of a label the gold set does not have
    gold, pred = list("AABB"), list("ADBB")
    # When evaluated
    result = evaluate_classifier(gold, [top(i, p) for i, p in enumerate(pred)], multi_label=False)
    # Then it is one of the averaged labels, as in scikit-learn
    assert (result.Precision, result.Recall, result.F1Score) == pytest.approx((2 / 3, 1 / 2, 5 / 9))
    p, r, f, _ = skm.precision_recall_fscore_support(gold, pred, average="macro", zero_division=0)
    assert (result.Precision, result.Recall, result.F1Score) == pytest.approx((p, r, f))


# --- multi-label ------------------------------------------------------------------------------------
# Hand-worked example: labels X, Y, Z; 4 documents.
#   doc  gold    pred
#   1    X Y     X
#   2    Y       Y Z
#   3    Z       Z
#   4    X Z     X Y Z
#   X: TP 2 FP 0 FN 0 TN 2 → P 1,   R 1,   F1 1
#   Y: TP 1 FP 1 FN 1 TN 1 → P 1/2, R 1/2, F1 1/2
#   Z: TP 2 FP 1 FN 0 TN 1 → P 2/3, R 1,   F1 4/5
#   macro P 13/18, R 5/6, F1 23/30;  micro TP 5 FP 2 FN 1 → P 5/7, R 5/6, F1 10/13
#   exact match: doc 3 only → 1/4;  Hamming: (FP+FN) 3 / (4 docs x 3 labels) = 1/4
GOLD_ML = [("X", "Y"), ("Y",), ("Z",), ("X", "Z")]
PRED_ML = [("X",), ("Y", "Z"), ("Z",), ("X", "Y", "Z")]


def evaluate_ml() -> Any:
    predictions = [labelled(i, labels) for i, labels in enumerate(PRED_ML)]
    return evaluate_classifier(GOLD_ML, predictions, multi_label=True)


def test_multi_label_hand_worked_macro_scores() -> None:
    # Given the 4-document example, When evaluated
    result = evaluate_ml()
    # Then the macro scores match the hand computation
    assert (result.Precision, result.Recall, result.F1Score) == pytest.approx((13 / 18, 5 / 6, 23 / 30))


def test_multi_label_hand_worked_micro_scores() -> None:
    # Given the 4-document example, When evaluated
    result = evaluate_ml()
    # Then the micro scores match the hand computation
    assert (result.MicroPrecision, result.MicroRecall, result.MicroF1Score) == pytest.approx(
        (5 / 7, 5 / 6, 10 / 13)
    )


def test_multi_label_hand_worked_subset_accuracy_and_hamming_loss() -> None:
    # Given the 4-document example, When evaluated
    result = evaluate_ml()
    # Then accuracy is exact-match accuracy and Hamming loss counts wrong label decisions
    assert (result.Accuracy, result.HammingLoss) == pytest.approx((0.25, 0.25))


def test_multi_label_hand_worked_per_label_counts() -> None:
    # Given the 4-document example, When evaluated
    result = evaluate_ml()
    # Then the per-label counts match the hand count
    assert result.confusion_matrix == {
        "X": {"tp": 2, "fp": 0, "fn": 0, "tn": 2},
        "Y": {"tp": 1, "fp": 1, "fn": 1, "tn": 1},
        "Z": {"tp": 2, "fp": 1, "fn": 0, "tn": 1},
    }


def test_multi_label_hand_worked_example_matches_scikit_learn() -> None:
    # Given the 4-document example, When evaluated
    result = evaluate_ml()
    # Then scikit-learn agrees on every metric
    binarizer = MultiLabelBinarizer(classes=["X", "Y", "Z"])
    y_true, y_pred = binarizer.fit_transform(GOLD_ML), binarizer.transform(PRED_ML)
    macro = skm.precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)[:3]
    micro = skm.precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)[:3]
    assert (result.Precision, result.Recall, result.F1Score) == pytest.approx(macro)
    assert (result.MicroPrecision, result.MicroRecall, result.MicroF1Score) == pytest.approx(micro)
    assert result.Accuracy == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert result.HammingLoss == pytest.approx(skm.hamming_loss(y_true, y_pred))


def test_multi_label_threshold_selects_predicted_labels() -> None:
    # Given scores of 0.5 (at the threshold) and 0.49 (below it)
    scores = (LabelScore("X", 0.5), LabelScore("Y", 0.49))
    prediction = Prediction("t", 0, scores, "Classes")
    # When evaluated against gold {X}
    result = evaluate_classifier([("X",)], [prediction], multi_label=True, threshold=0.5)
    # Then only X is predicted (exact match)
    assert result.Accuracy == 1.0


def test_multi_label_threshold_also_applies_to_labels_output() -> None:
    # Given a Labels output listing a low-scoring label
    prediction = Prediction("t", 0, (LabelScore("X", 0.9), LabelScore("Y", 0.1)), "Labels")
    # When evaluated against gold {X}
    result = evaluate_classifier([("X",)], [prediction], multi_label=True)
    # Then the low-scoring label is not a prediction: the document is an exact match
    assert result.Accuracy == 1.0
