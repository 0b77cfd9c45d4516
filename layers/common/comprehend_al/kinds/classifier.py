"""The document classifier: ``LABEL,text`` CSV uploads, a fixed test CSV, ``predictions.jsonl`` output."""

from __future__ import annotations

import posixpath
from typing import Any

from comprehend_al.aws.comprehend import ClassifierOps, ModelOps
from comprehend_al.aws.s3 import Bucket, ObjectInfo
from comprehend_al.datasets.classification import (
    DEFAULT_LIMITS,
    Limits,
    check_test_set,
    check_trainable,
    label_report,
    merge,
    parse_upload,
    to_csv,
)
from comprehend_al.drift import baseline_profile
from comprehend_al.kinds.base import (
    STORED_DATASET_LIMITS,
    KindSpec,
    Merged,
    TestSet,
    Upload,
    as_dict,
    content_version,
)
from comprehend_al.metrics import evaluate_classifier, read_job_output, test_documents
from comprehend_al.models import ClassificationMetrics, DatasetRef, ModelKind
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

    def _parse(self, data: bytes, file: str, *, limits: Limits = DEFAULT_LIMITS) -> list[Any]:
        return parse_upload(
            data,
            file=file,
            multi_label=self.settings.multi_label,
            delimiter=self.settings.label_delimiter,
            limits=limits,
        )

    def load(self, dataset: DatasetRef | None) -> list[Any]:
        if dataset is None:
            return []
        key = dataset.train_uri.split("/", 3)[3]
        # a stored version was validated when it was accepted: only its size may exceed an upload's limit
        return self._parse(self.bucket.get(key), dataset.train_uri, limits=STORED_DATASET_LIMITS)

    @property
    def max_upload_bytes(self) -> int:
        return DEFAULT_LIMITS.max_file_bytes

    def validate(self, upload: Upload) -> list[Any]:
        key = upload.keys[0]
        return self._parse(self.bucket.get(key, version_id=upload.version_of(key)), upload.name)

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
        problems = check_test_set(set(merged.label_counts), set(label_report(self._test_rows())))
        return [str(p) for p in problems]

    def trainable(self, merged: Merged) -> list[str]:
        return check_trainable(
            merged.label_counts,
            multi_label=self.settings.multi_label,
            min_per_label=self.settings.min_docs_per_label,
            min_total=self.settings.min_docs_total,
            documents=merged.documents,
        )

    def write(self, merged: Merged, version: str, test: TestSet | None) -> DatasetRef:
        key = f"{self.settings.datasets_prefix}classifier/{version}/train.csv"
        self.bucket.put(key, to_csv(merged.data))
        return DatasetRef(
            kind=self.kind,
            version=version,
            train_uri=self.bucket.uri(key),
            test_uri=test.uri if test else "",
            test_version=test.version if test else "",
            documents=merged.documents,
            label_counts=merged.label_counts,
            added=merged.added,
            duplicates_dropped=merged.duplicates_dropped,
            conflicts=len(merged.conflicts),
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
                top.append((best.name, best.score))
                texts.append(rows[prediction.line].text)
        return baseline_profile(top, texts).model_dump(mode="json")


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
)
