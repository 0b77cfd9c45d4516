"""What differs between model kinds: the :class:`DataKind` protocol and the :class:`KindSpec` of a kind.

The lifecycle (``comprehend_al.lifecycle``) is written once against these; each model kind is one
module of this package (``classifier``, ``entities``) that provides a spec and its data implementation.
A new kind (a language, a level of a taxonomy) is one more spec, not one more ``if`` in the lifecycle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from comprehend_al.aws.comprehend import ModelOps
from comprehend_al.aws.s3 import Bucket, ObjectInfo
from comprehend_al.datasets.classification import Limits
from comprehend_al.guard import Unit
from comprehend_al.models import ClassificationMetrics, DatasetRef, EntityMetrics, ModelKind
from comprehend_al.outcomes import Outcomes
from comprehend_al.settings import Settings


@dataclass(frozen=True)
class Upload:
    """One upload under ``train/new/``: a CSV file, or a folder with documents + annotations."""

    kind: ModelKind
    name: str  # key of the file, or of the folder for multi-file uploads
    keys: tuple[str, ...]
    etags: tuple[str, ...]
    versions: tuple[str | None, ...] = ()  # the object versions claimed (set under the kind's lock)
    sizes: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def version_of(self, key: str) -> str | None:
        """The claimed version of ``key`` (``None``: the current one, e.g. an unversioned bucket)."""
        return dict(zip(self.keys, self.versions, strict=False)).get(key)

    @property
    def sources(self) -> list[str]:
        """``key@version`` of each object (``key@etag:…`` in an unversioned bucket): what a dataset
        version records as merged."""
        versions = self.versions or (None,) * len(self.keys)
        return [
            f"{key}@{version or 'etag:' + etag}"
            for key, version, etag in zip(self.keys, versions, self.etags, strict=True)
        ]

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
    size_bytes: int = 0  # of the training files, once written (a kind stored as parts)


@dataclass(frozen=True)
class Validated:
    """An upload that passed validation: its data, and what was noticed without blocking it."""

    data: Any
    warnings: list[str] = field(default_factory=list)  # e.g. "line 1 looks like a header: skipped"


@dataclass(frozen=True)
class Waiting:
    """A merged dataset split into what trains now and what waits (labels below the minimum)."""

    trainable: Merged
    waiting: dict[str, int]  # label → documents (classifier) or annotations (entities) kept aside
    notes: list[str]  # "label 'X': 3 of 10 documents", one per waiting label
    unknown_test_labels: list[str]  # labels of the fixed test set the model cannot know yet


class DataKind(Protocol):
    kind: ModelKind
    bucket: Bucket
    test_key: str  # where users put the fixed test set (named in "no fixed test set" messages)

    @property
    def max_upload_bytes(self) -> int:
        """Checked on the object's size before anything is read."""
        ...

    def claim(self, objects: list[ObjectInfo]) -> tuple[list[Upload], list[ObjectInfo]]:
        """The complete uploads of this kind among ``objects``, and the objects it leaves to others."""
        ...

    def test_set(self) -> TestSet | None: ...

    def load(self, dataset: DatasetRef | None) -> Any: ...

    def validate(self, upload: Upload) -> Validated:
        """Parse and validate an upload; raises ``InvalidTrainingData`` naming file, line and field."""
        ...

    def empty(self) -> Any:
        """A dataset with no rows (what merging starts from)."""
        ...

    def write_batch(self, batch_id: str, data: Any) -> str:
        """Store a batch's validated rows (under ``datasets/``); returns the URI :meth:`load_batch` reads."""
        ...

    def load_batch(self, uri: str) -> Any: ...

    def row_keys(self, data: Any) -> list[tuple[str, str]]:
        """(text hash, label signature) of each row: the lineage says which batch each kept row came from."""
        ...

    def split_waiting(self, merged: Merged, test: TestSet | None) -> Waiting:
        """Labels below the minimum, or absent from the fixed test set, wait; the rest trains."""
        ...

    def merge(self, current: Any, new: Any) -> Merged: ...

    def check_test_set(self, merged: Merged, test: TestSet) -> list[str]: ...

    def trainable(self, merged: Merged) -> list[str]: ...

    def write(
        self, merged: Merged, version: str, test: TestSet | None, waiting: dict[str, int] | None = None
    ) -> DatasetRef: ...

    def test_documents_uri(self, dataset: DatasetRef) -> str:
        """One document per line, the input of the test job (written once per test-set version)."""
        ...

    def evaluate(self, dataset: DatasetRef, job_output: bytes) -> dict[str, Any]: ...

    def baseline(self, job_output: bytes) -> dict[str, Any] | None:
        """What the model's test-job predictions look like (:class:`comprehend_al.drift.Profile`), if
        this kind's live traffic is watched for drift."""

    def guard_units(self, data: Any, predict: Callable[[str], Any], *, limit: int, seed: str) -> list[Unit]:
        """Up to ``limit`` rows of a batch scored by the champion (``predict``: the kind's real-time call)."""
        ...

    def outcomes(self, dataset: DatasetRef, job_output: bytes) -> Outcomes:
        """Per test document, what the model got right (for a paired comparison of two models)."""
        ...


class PartitionedKind(DataKind, Protocol):
    """A kind whose dataset versions are stored as parts (:mod:`comprehend_al.lifecycle.parts`): rows are
    compared by :meth:`DataKind.row_keys`, whose signature names the row's labels."""

    partitioned: bool

    def read_part(self, uri: str) -> Any:
        """The rows of a part's file (a batch's data, or a version stored as one file), in file order."""
        ...

    def part_records(self, uri: str) -> list[bytes]:
        """The records of a part's file as bytes, in file order, unparsed."""
        ...

    def labels_of(self, signature: str) -> tuple[str, ...]: ...

    def trains_as(self, labels: tuple[str, ...], waiting: Collection[str]) -> tuple[str, ...]:
        """The labels a row trains with while ``waiting`` wait (``()``: the row waits whole)."""
        ...

    def waiting_labels(
        self, label_counts: dict[str, int], test: TestSet | None
    ) -> tuple[dict[str, int], list[str], set[str] | None]: ...

    def part_view(self, rows: Any, keep: Sequence[int], waiting: Collection[str]) -> bytes:
        """A part's training file: its rows at positions ``keep``, less their waiting labels."""
        ...

    def dataset_ref(
        self,
        merged: Merged,
        version: str,
        test: TestSet | None,
        train_uri: str,
        waiting: dict[str, int] | None,
    ) -> DatasetRef: ...


STORED_DATASET_LIMITS = Limits(max_file_bytes=5 * 1024**3)  # Comprehend's training-data limit: 5 GB


def content_version(infos: list[ObjectInfo]) -> str:
    digest = hashlib.sha256("|".join(f"{i.key}={i.version}" for i in infos).encode()).hexdigest()
    return f"t{digest[:12]}"


@dataclass(frozen=True)
class KindSpec:
    """Everything that differs between model kinds outside their data files."""

    kind: ModelKind
    short: str  # in endpoint names: "clf" / "ner"
    noun: str  # what real-time inference does, in messages
    max_text_bytes: int  # the real-time inference limit (UTF-8 bytes)
    metrics: type[ClassificationMetrics] | type[EntityMetrics]
    data: Callable[[Settings, Bucket], DataKind]
    ops: Callable[[Any, Settings], ModelOps]  # (boto3 Comprehend client, settings) → training / test jobs
    realtime: str  # the ComprehendClient method of real-time inference: "classify" | "detect_entities"


def as_dict(value: Any) -> dict[str, Any]:
    if hasattr(value, "model_dump"):
        return dict(value.model_dump(mode="json"))
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    return dict(value)
