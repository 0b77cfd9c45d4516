"""Evaluate a Comprehend classification job against the fixed, labelled test set.

The job (``StartDocumentClassificationJob``, ``InputFormat=ONE_DOC_PER_LINE``) reads the text-only file
written by :func:`test_documents` (document *i* of the test set on line *i*, zero-based) and writes
``output.tar.gz`` holding ``predictions.jsonl``: one JSON object per input line,
``{"File", "Line", "Classes": [{"Name", "Score"}]}`` (``"Labels"`` for a multi-label model); ``Line`` is
zero-based and may be a string or an int. Predictions are joined to the gold rows by line number.

Conventions (chosen to match scikit-learn's ``precision_recall_fscore_support(..., zero_division=0)``):

* labels = union of the gold labels and the predicted labels, sorted;
* per label: precision = TP / predicted (0 when the label is never predicted), recall = TP / gold (0 when
  the label never occurs in the gold set), F1 = 2·TP / (gold + predicted) (0 when both are 0);
* macro = unweighted mean over the labels (F1Score is the mean of per-label F1, not the F1 of the macro
  precision and recall); micro = computed from the summed counts.
* multi-class: the prediction is the top-scoring class (the first listed wins a tie); micro P = R = F1 =
  accuracy; ``HammingLoss`` is None; ``confusion_matrix[gold][predicted] = n`` holding non-zero cells only
  (a dense 1,000 x 1,000 matrix would not fit in the Step Functions state).
* multi-label: the predicted set is every label with score >= ``threshold``, whether it comes from
  ``Labels`` or ``Classes`` (if Comprehend already dropped labels below its own threshold this is a no-op
  at the default 0.5, and if it did not, it keeps low-scoring labels from counting as predictions);
  Accuracy = exact-match (subset) accuracy; HammingLoss = wrong label decisions / (documents x labels);
  ``confusion_matrix[label] = {"tp", "fp", "fn", "tn"}``.

Why this module is long: multi-class and multi-label metrics share the job-output reader and the
per-label arithmetic; they stay together so both modes compute the same figures the same way.
"""

from __future__ import annotations

import io
import json
import math
import re
import tarfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal, NamedTuple

from comprehend_al.datasets.classification import Row
from comprehend_al.errors import EvaluationFailed, InvalidTrainingData, Problem
from comprehend_al.models import ClassificationMetrics

PREDICTIONS_FILE = "predictions.jsonl"


class LabelScore(NamedTuple):
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class Prediction:
    """One line of ``predictions.jsonl``."""

    file: str
    line: int  # zero-based line of the job's input file
    scores: tuple[LabelScore, ...]  # in output order
    source: Literal["Classes", "Labels"]  # the key Comprehend used (Labels: multi-label model)


# --- test documents ---------------------------------------------------------------------------------
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def test_documents(rows: Sequence[Row | str]) -> bytes:
    """The job's input: one document per line (line *i* = row *i*), line breaks inside a text replaced by
    spaces (every break ``str.splitlines`` knows, so no reader can split a document in two)."""
    lines: list[str] = []
    problems: list[Problem] = []
    for index, row in enumerate(rows):
        text = _LINE_BREAKS.sub(" ", row.text if isinstance(row, Row) else row)
        if not text.strip():
            line = row.line if isinstance(row, Row) and row.line else index + 1
            problems.append(Problem("test set", line, "text", "blank document would shift the line numbers"))
        lines.append(text + "\n")
    if problems:
        raise InvalidTrainingData(problems)
    return "".join(lines).encode("utf-8")


test_documents.__test__ = False  # type: ignore[attr-defined]  # not a test, whoever imports it into one


# --- job output -------------------------------------------------------------------------------------
def read_job_output(tar_gz: bytes, *, name: str = "output.tar.gz") -> list[Prediction]:
    """Read every ``predictions.jsonl`` in the job's ``output.tar.gz`` (members are read, never extracted).

    Raise ``EvaluationFailed`` naming the member and line for an unreadable archive, a missing
    predictions file, bad JSON or a record without the expected fields.
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_gz), mode="r:*") as archive:
            members = sorted(
                (
                    m
                    for m in archive.getmembers()
                    if m.isfile() and PurePosixPath(m.name).name == PREDICTIONS_FILE
                ),
                key=lambda m: m.name,
            )
            if not members:
                raise EvaluationFailed(f"{name}: no {PREDICTIONS_FILE} in the archive")
            contents: list[tuple[str, bytes]] = []
            for member in members:
                handle = archive.extractfile(member)
                if handle is None:  # pragma: no cover - isfile() members always have content
                    raise EvaluationFailed(f"{name}: {member.name} cannot be read")
                contents.append((member.name, handle.read()))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise EvaluationFailed(f"{name}: not a readable tar.gz archive ({exc})") from exc

    predictions: list[Prediction] = []
    for member_name, data in contents:
        predictions += _parse_predictions(member_name, data)
    return predictions


def _parse_predictions(member: str, data: bytes) -> list[Prediction]:
    predictions: list[Prediction] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        where = f"{member}:{number}"
        try:
            record = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EvaluationFailed(f"{where}: not valid JSON ({exc})") from exc
        predictions.append(_prediction(record, where))
    return predictions


def _prediction(record: Any, where: str) -> Prediction:
    if not isinstance(record, dict):
        raise EvaluationFailed(f"{where}: expected a JSON object")
    file = record.get("File")
    if not isinstance(file, str):
        raise EvaluationFailed(f"{where}: missing or invalid 'File'")
    line = record.get("Line")
    if isinstance(line, str) and line.isascii() and line.isdigit():
        line = int(line)
    if not isinstance(line, int) or isinstance(line, bool) or line < 0:
        raise EvaluationFailed(f"{where}: missing or invalid 'Line' (a zero-based line number)")
    source: Literal["Classes", "Labels"]
    if "Classes" in record:
        source = "Classes"
    elif "Labels" in record:
        source = "Labels"
    else:
        raise EvaluationFailed(
            f"{where}: neither 'Classes' nor 'Labels' (Comprehend error: {_error_of(record)})"
        )
    items = record[source]
    if not isinstance(items, list):
        raise EvaluationFailed(f"{where}: '{source}' is not a list")
    scores: list[LabelScore] = []
    for item in items:
        name = item.get("Name") if isinstance(item, dict) else None
        score = item.get("Score") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise EvaluationFailed(f"{where}: an entry of '{source}' has no 'Name'")
        if not isinstance(score, int | float) or isinstance(score, bool) or not math.isfinite(score):
            raise EvaluationFailed(f"{where}: '{name}' has no valid 'Score'")
        scores.append(LabelScore(name, float(score)))
    return Prediction(file, line, tuple(scores), source)


def _error_of(record: dict[str, Any]) -> str:
    return str(record.get("ErrorMessage") or record.get("ErrorCode") or "none given")


# --- evaluation -------------------------------------------------------------------------------------
Gold = Row | str | Sequence[str]


def _gold_labels(item: Gold) -> tuple[str, ...]:
    if isinstance(item, Row):
        return item.labels
    if isinstance(item, str):
        return (item,)
    return tuple(item)


def _join(gold: Sequence[Gold], predictions: Iterable[Prediction]) -> list[Prediction]:
    """Predictions in gold order; EvaluationFailed if any line is missing, repeated or beyond the gold."""
    if not gold:
        raise EvaluationFailed("the gold test set is empty")
    by_line: dict[int, Prediction] = {}
    files: set[str] = set()
    for prediction in predictions:
        files.add(prediction.file)
        if prediction.line in by_line:
            raise EvaluationFailed(f"{prediction.file}: line {prediction.line} is predicted more than once")
        by_line[prediction.line] = prediction
    if len(files) > 1:
        raise EvaluationFailed(
            f"predictions cover {len(files)} input files ({', '.join(sorted(files))}); expected 1"
        )
    n = len(gold)
    missing = [line for line in range(n) if line not in by_line]
    if missing:
        raise EvaluationFailed(
            f"no prediction for {len(missing)} of {n} test lines (zero-based, first: {_first(missing)})"
        )
    extra = sorted(line for line in by_line if line >= n)
    if extra:
        raise EvaluationFailed(
            f"predictions for {len(extra)} line(s) beyond the {n}-line test set (first: {_first(extra)})"
        )
    return [by_line[line] for line in range(n)]


def _first(lines: Sequence[int], shown: int = 5) -> str:
    return ", ".join(str(line) for line in lines[:shown]) + (", …" if len(lines) > shown else "")


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def evaluate_classifier(
    gold: Sequence[Gold],
    predictions: Iterable[Prediction],
    *,
    multi_label: bool,
    threshold: float = 0.5,
) -> ClassificationMetrics:
    """Metrics of the job's predictions against the gold test set (gold line *i* = ``gold[i]``).

    ``gold`` holds the test rows in file order (``Row``), or their label tuples (a plain string is one
    label). Raise ``EvaluationFailed`` when predictions and gold lines do not correspond one to one.
    """
    gold_sets, predicted = predicted_labels(gold, predictions, multi_label=multi_label, threshold=threshold)
    if multi_label:
        return _multi_label_metrics([frozenset(labels) for labels in gold_sets], predicted)
    return _multi_class_metrics([g[0] for g in gold_sets], [next(iter(p)) for p in predicted])


def predicted_labels(
    gold: Sequence[Gold],
    predictions: Iterable[Prediction],
    *,
    multi_label: bool,
    threshold: float = 0.5,
) -> tuple[list[tuple[str, ...]], list[frozenset[str]]]:
    """(gold labels, predicted labels) of each test document, joined by line (see the module's rules)."""
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, not {threshold!r}")
    joined = _join(gold, predictions)
    gold_sets = [_gold_labels(item) for item in gold]
    if multi_label:
        return gold_sets, [frozenset(s.name for s in p.scores if s.score >= threshold) for p in joined]
    predicted: list[frozenset[str]] = []
    for line, (labels, prediction) in enumerate(zip(gold_sets, joined, strict=True)):
        if len(labels) != 1:
            raise EvaluationFailed(f"gold line {line} has {len(labels)} labels; multi-class needs exactly 1")
        if prediction.source == "Labels":
            raise EvaluationFailed(
                f"line {line}: the job output is multi-label ('Labels') for a multi-class test"
            )
        if not prediction.scores:
            raise EvaluationFailed(f"line {line}: the prediction has no classes")
        predicted.append(frozenset([max(prediction.scores, key=lambda s: s.score).name]))  # first max wins
    return gold_sets, predicted


def _multi_class_metrics(gold: Sequence[str], predicted: Sequence[str]) -> ClassificationMetrics:
    n = len(gold)
    labels = sorted(set(gold) | set(predicted))
    gold_count = Counter(gold)
    predicted_count = Counter(predicted)
    true_positive = Counter(g for g, p in zip(gold, predicted, strict=True) if g == p)
    confusion: dict[str, dict[str, int]] = {}
    for (gold_label, predicted_label), count in sorted(Counter(zip(gold, predicted, strict=True)).items()):
        confusion.setdefault(gold_label, {})[predicted_label] = count
    precision = [_ratio(true_positive[label], predicted_count[label]) for label in labels]
    recall = [_ratio(true_positive[label], gold_count[label]) for label in labels]
    f1 = [_ratio(2 * true_positive[label], gold_count[label] + predicted_count[label]) for label in labels]
    accuracy = _ratio(sum(true_positive.values()), n)
    return ClassificationMetrics(
        Accuracy=accuracy,
        Precision=_mean(precision),
        Recall=_mean(recall),
        F1Score=_mean(f1),
        MicroPrecision=accuracy,
        MicroRecall=accuracy,
        MicroF1Score=accuracy,
        HammingLoss=None,
        documents=n,
        confusion_matrix=confusion,
        labels=labels,
    )


def _multi_label_metrics(
    gold: Sequence[frozenset[str]], predicted: Sequence[frozenset[str]]
) -> ClassificationMetrics:
    n = len(gold)
    labels = sorted(set().union(*gold, *predicted))
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    exact = 0
    for g, p in zip(gold, predicted, strict=True):
        tp.update(g & p)
        fp.update(p - g)
        fn.update(g - p)
        exact += g == p
    precision = [_ratio(tp[label], tp[label] + fp[label]) for label in labels]
    recall = [_ratio(tp[label], tp[label] + fn[label]) for label in labels]
    f1 = [_ratio(2 * tp[label], 2 * tp[label] + fp[label] + fn[label]) for label in labels]
    sum_tp, sum_fp, sum_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    confusion = {
        label: {
            "tp": tp[label],
            "fp": fp[label],
            "fn": fn[label],
            "tn": n - tp[label] - fp[label] - fn[label],
        }
        for label in labels
    }
    return ClassificationMetrics(
        Accuracy=_ratio(exact, n),
        Precision=_mean(precision),
        Recall=_mean(recall),
        F1Score=_mean(f1),
        MicroPrecision=_ratio(sum_tp, sum_tp + sum_fp),
        MicroRecall=_ratio(sum_tp, sum_tp + sum_fn),
        MicroF1Score=_ratio(2 * sum_tp, 2 * sum_tp + sum_fp + sum_fn),
        HammingLoss=_ratio(sum_fp + sum_fn, n * len(labels)),
        documents=n,
        confusion_matrix=confusion,
        labels=labels,
    )


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0
