"""What differs between model kinds on the data side: uploads, validation, merge, files, evaluation.

The lifecycle (``lifecycle.py``) is written once against :class:`DataKind`; each model kind provides
one implementation (classifier CSV here; the entity recognizer's documents + annotations beside it).
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass
from typing import Any, Protocol

from comprehend_al.aws.s3 import Bucket, ObjectInfo
from comprehend_al.config import Settings
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
from comprehend_al.metrics import evaluate_classifier, read_job_output, test_documents
from comprehend_al.models import DatasetRef, ModelKind


@dataclass(frozen=True)
class Upload:
    """One upload under ``train/new/``: a CSV file, or a folder with documents + annotations."""

    kind: ModelKind
    name: str  # key of the file, or of the folder for multi-file uploads
    keys: tuple[str, ...]
    etags: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("|".join(self.keys + self.etags).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TestSet:
    uri: str  # what the training job gets as TestS3Uri (classifier CSV; entity documents)
    version: str  # changes whenever any of its objects change
    keys: tuple[str, ...]
    annotations_uri: str | None = None


@dataclass(frozen=True)
class Merged:
    """A merged dataset in memory, before it is written as a new version."""

    data: Any
    documents: int
    label_counts: dict[str, int]
    added: int
    duplicates_dropped: int
    conflicts: list[dict[str, Any]]


class DataKind(Protocol):
    kind: ModelKind
    bucket: Bucket
    test_key: str  # where users put the fixed test set (named in "no fixed test set" messages)

    def claim(self, objects: list[ObjectInfo]) -> tuple[list[Upload], list[ObjectInfo]]:
        """The complete uploads of this kind among ``objects``, and the objects it leaves to others."""
        ...

    def test_set(self) -> TestSet | None: ...

    def load(self, dataset: DatasetRef | None) -> Any: ...

    def validate(self, upload: Upload) -> Any:
        """Parse and validate an upload; raises ``InvalidTrainingData`` naming file, line and field."""
        ...

    def merge(self, current: Any, new: Any) -> Merged: ...

    def check_test_set(self, merged: Merged, test: TestSet) -> list[str]: ...

    def trainable(self, merged: Merged) -> list[str]: ...

    def write(self, merged: Merged, version: str, test: TestSet | None) -> DatasetRef: ...

    def test_documents_uri(self, dataset: DatasetRef) -> str:
        """One document per line, the input of the test job (written once per test-set version)."""
        ...

    def evaluate(self, dataset: DatasetRef, job_output: bytes) -> dict[str, Any]: ...


STORED_DATASET_LIMITS = Limits(max_file_bytes=5 * 1024**3)  # Comprehend's training-data limit: 5 GB


def content_version(infos: list[ObjectInfo]) -> str:
    digest = hashlib.sha256("|".join(f"{i.key}={i.version}" for i in infos).encode()).hexdigest()
    return f"t{digest[:12]}"


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

    def validate(self, upload: Upload) -> list[Any]:
        return self._parse(self.bucket.get(upload.keys[0]), upload.name)

    def merge(self, current: Any, new: Any) -> Merged:
        result = merge(current, new)
        return Merged(
            data=result.rows,
            documents=len(result.rows),
            label_counts=dict(result.label_counts),
            added=result.added,
            duplicates_dropped=result.duplicates_dropped,
            conflicts=[_as_dict(c) for c in result.conflicts],
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


def _as_dict(value: Any) -> dict[str, Any]:
    if hasattr(value, "model_dump"):
        return dict(value.model_dump(mode="json"))
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    return dict(value)


def data_kinds(settings: Settings, bucket: Bucket) -> dict[ModelKind, DataKind]:
    """Every model kind the workflow knows, in the order uploads are claimed."""
    from comprehend_al.entity_kind import EntityData  # imports this module: not at the top

    return {
        ModelKind.CLASSIFIER: ClassifierData(settings, bucket),
        ModelKind.ENTITY_RECOGNIZER: EntityData(settings, bucket),
    }
