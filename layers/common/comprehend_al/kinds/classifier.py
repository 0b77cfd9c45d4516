"""The document classifier: ``LABEL,text`` CSV uploads, a fixed test CSV, ``predictions.jsonl`` output.

Dataset versions are stored as parts (:mod:`comprehend_al.lifecycle.parts`): the training files of a version
lie under ``datasets/classifier/<version>/train/``, the prefix training is given.

Why this module is long: it is the classifier's whole :class:`DataKind` (claiming uploads, batches, the fixed
test set, waiting labels, the training files of parts, evaluation, the guard's scoring), so every rule about
where its files live in S3 and how they are read back is in one place.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Collection, Sequence
from typing import Any

from comprehend_al.aws.comprehend import ClassifierOps, ModelOps
from comprehend_al.aws.s3 import Bucket, ObjectInfo
from comprehend_al.datasets.classification import (
    DEFAULT_LIMITS,
    Limits,
    Row,
    check_test_set,
    check_trainable,
    label_report,
    merge,
    parse_upload,
    read_stored,
    stored_records,
    text_hash,
    to_csv,
)
from comprehend_al.drift import baseline_profile
from comprehend_al.errors import Problem
from comprehend_al.guard import Unit, sample
from comprehend_al.hierarchy import FLAT, decode_class
from comprehend_al.kinds.base import (
    STORED_DATASET_LIMITS,
    KindSpec,
    Merged,
    TestSet,
    Upload,
    Validated,
    Waiting,
    as_dict,
    content_version,
)
from comprehend_al.metrics import evaluate_classifier, predicted_labels, read_job_output, test_documents
from comprehend_al.models import ClassificationMetrics, DatasetRef, ModelKind
from comprehend_al.outcomes import Outcomes, from_sets
from comprehend_al.settings import Settings


class ClassifierData:
    """Comprehend classifier data: ``LABEL,text`` CSV uploads, a fixed test CSV, predictions.jsonl."""

    kind = ModelKind.CLASSIFIER

    def __init__(self, settings: Settings, bucket: Bucket) -> None:
        self.settings = settings
        self.bucket = bucket
        self.test_key = f"{settings.test_prefix}classifier/test.csv"

    def claim(self, objects: list[ObjectInfo]) -> tuple[list[Upload], list[ObjectInfo]]:
        mine, rest = [], []
        for info in objects:
            name = posixpath.basename(info.key)
            if name.lower().endswith(".csv") and name != "annotations.csv":
                mine.append(Upload(self.kind, info.key, (info.key,), (info.etag,)))
            else:
                rest.append(info)
        return mine, rest

    def test_set(self) -> TestSet | None:
        info = self.bucket.head(self.test_key)
        if info is None:
            return None
        return TestSet(self.bucket.uri(self.test_key), content_version([info]), (self.test_key,))

    def _parse(
        self,
        data: bytes,
        file: str,
        *,
        limits: Limits = DEFAULT_LIMITS,
        warnings: list[Problem] | None = None,
        stored: bool = False,
    ) -> list[Any]:
        """Rows of a file; an upload's or the fixed test set's paths (``Taxonomy=flat``) become the model's
        class names, which a stored file (``stored``) already holds."""
        return parse_upload(
            data,
            file=file,
            multi_label=self.settings.multi_label,
            delimiter=self.settings.label_delimiter,
            limits=limits,
            warnings=warnings,
            taxonomy="" if stored else self.settings.taxonomy,
        )

    def load(self, dataset: DatasetRef | None) -> list[Any]:
        if dataset is None:
            return []
        key = dataset.train_uri.split("/", 3)[3]
        # a stored version was validated when it was accepted: only its size may exceed an upload's limit
        return self._parse(self.bucket.get(key), dataset.train_uri, limits=STORED_DATASET_LIMITS, stored=True)

    @property
    def max_upload_bytes(self) -> int:
        return DEFAULT_LIMITS.max_file_bytes

    def validate(self, upload: Upload) -> Validated:
        key = upload.keys[0]
        warnings: list[Problem] = []
        rows = self._parse(
            self.bucket.get(key, version_id=upload.version_of(key)), upload.name, warnings=warnings
        )
        return Validated(rows, [str(w) for w in warnings])

    def empty(self) -> list[Any]:
        return []

    def write_batch(self, batch_id: str, data: Any) -> str:
        key = f"{self.settings.datasets_prefix}classifier/batches/{batch_id}/train.csv"
        self.bucket.put(key, to_csv(data, delimiter=self.settings.label_delimiter))
        return self.bucket.uri(key)

    def load_batch(self, uri: str) -> list[Any]:
        key = uri.split("/", 3)[3]
        return self._parse(self.bucket.get(key), uri, limits=STORED_DATASET_LIMITS, stored=True)

    def read_part(self, uri: str) -> list[Row]:
        """The rows of a batch's file or a stored dataset file (written here, validated on arrival)."""
        data = self.bucket.get(uri.split("/", 3)[3])
        return read_stored(
            data, multi_label=self.settings.multi_label, delimiter=self.settings.label_delimiter
        )

    def row_keys(self, data: Any) -> list[tuple[str, str]]:
        return [(text_hash(row.text), "|".join(sorted(set(row.labels)))) for row in data]

    def split_waiting(self, merged: Merged, test: TestSet | None) -> Waiting:
        """Labels under ``MinDocsPerLabel``, or missing from the fixed test set, wait (their rows stay in the
        lineage); multi-label rows lose only their waiting labels."""
        waiting, notes, test_labels = self.waiting_labels(merged.label_counts, test)
        rows: list[Row] = []
        for row in merged.data:
            labels = self.trains_as(row.labels, waiting)
            if labels:
                rows.append(row if labels == row.labels else Row(labels, row.text, row.line))
        counts = label_report(rows)
        trainable = Merged(rows, len(rows), counts, merged.added, merged.duplicates_dropped, merged.conflicts)
        unknown = sorted((test_labels or set()) - set(counts))
        return Waiting(trainable, waiting, notes, unknown)

    def waiting_labels(
        self, label_counts: dict[str, int], test: TestSet | None
    ) -> tuple[dict[str, int], list[str], set[str] | None]:
        """The labels that wait (label → documents), a note for each, and the fixed test set's labels."""
        minimum = self.settings.min_docs_per_label
        test_labels = set(label_report(self._test_rows())) if test else None
        waiting: dict[str, int] = {}
        notes: list[str] = []
        for label, count in sorted(label_counts.items()):
            if count < minimum:
                waiting[label] = count
                notes.append(f"label {label!r}: {count} of {minimum} documents")
            elif test_labels is not None and label not in test_labels:
                waiting[label] = count
                notes.append(f"label {label!r}: {count} documents, not in the fixed test set")
        return waiting, notes, test_labels

    def trains_as(self, labels: tuple[str, ...], waiting: Collection[str]) -> tuple[str, ...]:
        """The labels a row trains with while ``waiting`` wait (``()``: the row waits whole)."""
        kept = tuple(label for label in labels if label not in waiting)
        return kept if kept and (self.settings.multi_label or kept == labels) else ()

    # --- parts (a dataset version as a manifest of immutable parts, see lifecycle/parts.py) ------------
    partitioned = True

    def labels_of(self, signature: str) -> tuple[str, ...]:
        """The labels of a :meth:`row_keys` signature."""
        return tuple(signature.split("|"))

    def part_records(self, uri: str) -> list[bytes]:
        """The records of a part's file as bytes, unparsed (the fast way to write a training file that
        keeps some of them whole)."""
        return stored_records(self.bucket.get(uri.split("/", 3)[3]))

    def part_view(self, rows: Sequence[Row], keep: Sequence[int], waiting: Collection[str]) -> bytes:
        """The training file of a part: its rows at positions ``keep``, less their waiting labels."""
        kept = []
        for position in keep:
            row = rows[position]
            labels = self.trains_as(row.labels, waiting)
            if labels:
                kept.append(row if labels == row.labels else Row(labels, row.text, row.line))
        return to_csv(kept, delimiter=self.settings.label_delimiter)

    def training_uri(self, version: str) -> str:
        """Where a version's training files lie: Comprehend reads every object under this prefix."""
        return self.bucket.uri(f"{self.settings.datasets_prefix}classifier/{version}/train/")

    def merge(self, current: Any, new: Any) -> Merged:
        result = merge(current, new)
        return Merged(
            data=result.rows,
            documents=len(result.rows),
            label_counts=dict(result.label_counts),
            added=result.added,
            duplicates_dropped=result.duplicates_dropped,
            conflicts=[as_dict(c) for c in result.conflicts],
        )

    def _test_rows(self) -> list[Any]:
        return self._parse(self.bucket.get(self.test_key), self.bucket.uri(self.test_key))

    def check_test_set(self, merged: Merged, test: TestSet) -> list[str]:
        """What blocks training: a trained label the test set lacks (Comprehend refuses such a TestS3Uri).
        Test labels the model cannot know yet are not a problem: :meth:`write` leaves them out of the
        test file given to training, and the evaluation reports them."""
        problems = check_test_set(set(merged.label_counts), set(label_report(self._test_rows())))
        return [str(p) for p in problems if "but not in the test set" in p.reason]

    def trainable(self, merged: Merged) -> list[str]:
        reasons = check_trainable(
            merged.label_counts,
            multi_label=self.settings.multi_label,
            min_per_label=self.settings.min_docs_per_label,
            min_total=self.settings.min_docs_total,
            documents=merged.documents,
        )
        limit = STORED_DATASET_LIMITS.max_file_bytes
        if merged.size_bytes > limit:
            reasons.append(
                f"the training data is {merged.size_bytes} bytes; Comprehend accepts at most {limit}"
            )
        return reasons

    def write(
        self, merged: Merged, version: str, test: TestSet | None, waiting: dict[str, int] | None = None
    ) -> DatasetRef:
        folder = f"{self.settings.datasets_prefix}classifier/{version}/"
        self.bucket.put(folder + "train.csv", to_csv(merged.data, delimiter=self.settings.label_delimiter))
        return self.dataset_ref(merged, version, test, self.bucket.uri(folder + "train.csv"), waiting)

    def dataset_ref(
        self,
        merged: Merged,
        version: str,
        test: TestSet | None,
        train_uri: str,
        waiting: dict[str, int] | None,
    ) -> DatasetRef:
        """The version's record of its files; writes the test file training gets if it must differ."""
        folder = f"{self.settings.datasets_prefix}classifier/{version}/"
        test_uri = test.uri if test else ""
        if test:
            known = set(merged.label_counts)
            rows = self._test_rows()
            flat = self.settings.taxonomy == FLAT  # the file's paths are not the model's class names
            if flat or any(not set(row.labels) <= known for row in rows):
                # Comprehend refuses a test set with labels the training data lacks: training gets the
                # documents of known labels; the evaluation still runs the whole fixed test set
                kept = [row for row in rows if set(row.labels) <= known]
                self.bucket.put(folder + "test.csv", to_csv(kept, delimiter=self.settings.label_delimiter))
                test_uri = self.bucket.uri(folder + "test.csv")
        return DatasetRef(
            kind=self.kind,
            version=version,
            train_uri=train_uri,
            test_uri=test_uri,
            test_version=test.version if test else "",
            documents=merged.documents,
            label_counts=merged.label_counts,
            added=merged.added,
            duplicates_dropped=merged.duplicates_dropped,
            conflicts=len(merged.conflicts),
            waiting=waiting or {},
        )

    def test_documents_uri(self, dataset: DatasetRef) -> str:
        key = f"{self.settings.datasets_prefix}classifier/test/{dataset.test_version}/documents.txt"
        if self.bucket.head(key) is None:
            self.bucket.put(key, test_documents(self._test_rows()), content_type="text/plain")
        return self.bucket.uri(key)

    def evaluate(self, dataset: DatasetRef, job_output: bytes) -> dict[str, Any]:
        metrics = evaluate_classifier(
            self._test_rows(), read_job_output(job_output), multi_label=self.settings.multi_label
        )
        return metrics.model_dump(mode="json")

    def baseline(self, job_output: bytes) -> dict[str, Any] | None:
        """The drift baseline: what the model predicted on the fixed test set (no text kept)."""
        rows = self._test_rows()
        top, texts = [], []
        for prediction in read_job_output(job_output):
            if prediction.scores and 0 <= prediction.line < len(rows):
                best = max(prediction.scores, key=lambda s: s.score)
                name = decode_class(best.name) if self.settings.taxonomy == FLAT else best.name
                top.append((name, best.score))  # as /classify answers it (live traffic is compared)
                texts.append(rows[prediction.line].text)
        return baseline_profile(top, texts).model_dump(mode="json")

    def guard_units(self, data: Any, predict: Callable[[str], Any], *, limit: int, seed: str) -> list[Unit]:
        """One unit per row (multi-label: per gold label of the row), lines of the batch's stored file."""
        rows: list[Row] = list(data)
        units: list[Unit] = []
        for index in sample(len(rows), limit, seed):
            row, pairs = rows[index], predict(rows[index].text)
            digest = text_hash(row.text)
            if not self.settings.multi_label:
                top = pairs[0] if pairs else (None, 0.0)
                units.append(Unit(index + 1, row.labels[0], top[0], top[1], digest))
                continue
            chosen = {label for label, score in pairs if score >= 0.5}
            other = next(((label, score) for label, score in pairs if label not in row.labels), (None, 0.0))
            for label in row.labels:
                if label in chosen:
                    units.append(Unit(index + 1, label, label, dict(pairs)[label], digest))
                else:
                    units.append(Unit(index + 1, label, other[0], other[1], digest))
        return units

    def outcomes(self, dataset: DatasetRef, job_output: bytes) -> Outcomes:
        gold, predicted = predicted_labels(
            self._test_rows(), read_job_output(job_output), multi_label=self.settings.multi_label
        )
        return from_sets(gold, predicted, averaging="macro")


def _ops(client: Any, settings: Settings) -> ModelOps:
    return ClassifierOps(client, mode=settings.classifier_mode.value, delimiter=settings.label_delimiter)


SPEC = KindSpec(
    kind=ModelKind.CLASSIFIER,
    short="clf",
    noun="classification",
    max_text_bytes=10_000,  # ClassifyDocument
    metrics=ClassificationMetrics,
    data=ClassifierData,
    ops=_ops,
    realtime="classify",
)
