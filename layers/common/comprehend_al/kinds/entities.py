"""The entity recognizer (its :class:`~comprehend_al.kinds.base.DataKind` and :class:`KindSpec`).

Uploads: a folder under ``train/new/`` holding ``documents.txt`` (one document per line) and
``annotations.csv`` (``File,Line,Begin Offset,End Offset,Type``) is one upload. A folder is claimed only
once both files are there; until then its files stay pending (neither claimed nor handed on, so they are
not quarantined as unknown files) and the upload of the second file starts the run that takes it.

Fixed test set: ``test/entities/documents.txt`` + ``test/entities/annotations.csv``, versioned by both
objects. Dataset versions: ``datasets/entity_recognizer/<version>/documents.txt`` + ``annotations.csv``.
Evaluation: the entity-detection job's output against the test annotations, exact span and type match.

Why this module is long: it is the recognizer's whole :class:`DataKind` (claiming folders, batches, the
fixed test set, dataset versions, evaluation, the guard's scoring), so every rule about where its two
files live in S3 and how they are read back is in one place.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from comprehend_al.aws.comprehend import ModelOps, RecognizerOps
from comprehend_al.aws.s3 import Bucket, ObjectInfo, split_uri
from comprehend_al.datasets.entities import (
    Annotation,
    EntityLimits,
    EntityUpload,
    check_trainable,
    merge,
    to_files,
    validate_upload,
    waiting_types,
)
from comprehend_al.entity_metrics import entity_outcomes, evaluate_entities, read_entities_output
from comprehend_al.errors import InvalidTrainingData
from comprehend_al.guard import Unit, sample
from comprehend_al.kinds.base import KindSpec, Merged, TestSet, Upload, Validated, Waiting, content_version
from comprehend_al.models import DatasetRef, EntityMetrics, ModelKind
from comprehend_al.outcomes import Outcomes
from comprehend_al.settings import Settings

MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # per file: the parsing Lambda holds an upload in memory
DOCUMENTS = "documents.txt"
ANNOTATIONS = "annotations.csv"
FILES = (DOCUMENTS, ANNOTATIONS)


class EntityData:
    """Comprehend entity-recognizer data: documents + annotations folders, a fixed test folder."""

    kind = ModelKind.ENTITY_RECOGNIZER

    def __init__(self, settings: Settings, bucket: Bucket, limits: EntityLimits | None = None) -> None:
        self.settings = settings
        self.bucket = bucket
        self.limits = limits or EntityLimits()
        self.test_key = f"{settings.test_prefix}entities/"  # named in "no fixed test set" messages
        self.test_documents_key = f"{self.test_key}{DOCUMENTS}"
        self.test_annotations_key = f"{self.test_key}{ANNOTATIONS}"

    # --- uploads ---------------------------------------------------------------------------------------
    def claim(self, objects: list[ObjectInfo]) -> tuple[list[Upload], list[ObjectInfo]]:
        folders: dict[str, dict[str, ObjectInfo]] = defaultdict(dict)
        rest: list[ObjectInfo] = []
        for info in objects:
            name = posixpath.basename(info.key)
            if name in FILES:
                folders[posixpath.dirname(info.key) + "/"][name] = info
            else:
                rest.append(info)
        mine = []
        for folder, files in sorted(folders.items()):
            if len(files) < len(FILES):
                continue  # incomplete: stays pending until its other file arrives
            docs, notes = files[DOCUMENTS], files[ANNOTATIONS]
            mine.append(Upload(self.kind, folder, (docs.key, notes.key), (docs.etag, notes.etag)))
        return mine, rest

    def validate(self, upload: Upload) -> Validated:
        documents_key, annotations_key = upload.keys
        data = validate_upload(
            self.bucket.get(documents_key, version_id=upload.version_of(documents_key)),
            self.bucket.get(annotations_key, version_id=upload.version_of(annotations_key)),
            documents_file=documents_key,
            annotations_file=annotations_key,
            limits=self.limits,
        )
        notable = [w for w in data.warnings if "header" in w.reason]  # span warnings stay in the report
        return Validated(data, [str(w) for w in notable])

    def empty(self) -> EntityUpload:
        return EntityUpload(documents=[], annotations=[])

    def write_batch(self, batch_id: str, data: Any) -> str:
        folder = f"{self.settings.datasets_prefix}{self.kind.value}/batches/{batch_id}/"
        documents, annotations = to_files(data, documents_file=DOCUMENTS)
        self.bucket.put(folder + DOCUMENTS, documents, content_type="text/plain")
        self.bucket.put(folder + ANNOTATIONS, annotations)
        return self.bucket.uri(folder + DOCUMENTS)

    def load_batch(self, uri: str) -> EntityUpload:
        annotations = uri.rsplit("/", 1)[0] + "/" + ANNOTATIONS
        return validate_upload(
            self._get(uri),
            self._get(annotations),
            documents_file=uri,
            annotations_file=annotations,
            limits=self.limits,
        )

    def row_keys(self, data: Any) -> list[tuple[str, str]]:
        return [
            (
                hashlib.sha256(text.encode("utf-8")).hexdigest(),
                ";".join(f"{a.begin}-{a.end}-{a.type}" for a in spans),
            )
            for text, spans in zip(data.documents, data.annotations_by_document(), strict=True)
        ]

    def split_waiting(self, merged: Merged, test: TestSet | None) -> Waiting:
        """Entity types under Comprehend's minimums (annotations, documents) or missing from the fixed test
        set wait: their annotations are left out of the training file, the documents stay."""
        dataset: EntityUpload = merged.data
        test_types: set[str] | None = None
        if test is not None:
            try:
                test_types = set(self._test_data()[1].type_counts())
            except InvalidTrainingData:
                test_types = None  # reported by check_test_set
        waiting, notes = waiting_types(dataset, test_types, limits=self.limits)
        kept = EntityUpload(
            documents=dataset.documents, annotations=[a for a in dataset.annotations if a.type not in waiting]
        )
        trainable = Merged(
            kept,
            len(kept.documents),
            kept.type_counts(),
            merged.added,
            merged.duplicates_dropped,
            merged.conflicts,
        )
        unknown = sorted((test_types or set()) - set(trainable.label_counts))
        return Waiting(trainable, waiting, notes, unknown)

    @property
    def max_upload_bytes(self) -> int:
        return MAX_UPLOAD_BYTES

    # --- the fixed test set ----------------------------------------------------------------------------
    def test_set(self) -> TestSet | None:
        documents = self.bucket.head(self.test_documents_key)
        annotations = self.bucket.head(self.test_annotations_key)
        if documents is None or annotations is None:
            return None
        return TestSet(
            uri=self.bucket.uri(self.test_documents_key),
            version=content_version([documents, annotations]),
            keys=(self.test_documents_key, self.test_annotations_key),
            annotations_uri=self.bucket.uri(self.test_annotations_key),
        )

    def _test_data(self) -> tuple[bytes, EntityUpload]:
        documents = self.bucket.get(self.test_documents_key)
        test = validate_upload(
            documents,
            self.bucket.get(self.test_annotations_key),
            documents_file=self.bucket.uri(self.test_documents_key),
            annotations_file=self.bucket.uri(self.test_annotations_key),
            limits=self.limits,
        )
        return documents, test

    def check_test_set(self, merged: Merged, test: TestSet) -> list[str]:
        try:
            _, test_data = self._test_data()
        except InvalidTrainingData as error:
            return [f"fixed test set is invalid: {p}" for p in error.problems]
        missing = sorted(set(merged.label_counts) - set(test_data.type_counts()))
        return [
            f"{self.bucket.uri(self.test_annotations_key)}: entity type {t!r} is in the training data "
            "but not in the test set"
            for t in missing
        ]

    # --- datasets --------------------------------------------------------------------------------------
    def load(self, dataset: DatasetRef | None) -> EntityUpload:
        if dataset is None or not dataset.train_annotations_uri:
            return EntityUpload(documents=[], annotations=[])
        return validate_upload(
            self._get(dataset.train_uri),
            self._get(dataset.train_annotations_uri),
            documents_file=dataset.train_uri,
            annotations_file=dataset.train_annotations_uri,
            limits=self.limits,
        )

    def merge(self, current: Any, new: Any) -> Merged:
        result = merge(current, new)
        return Merged(
            data=result.dataset,
            documents=len(result.dataset.documents),
            label_counts=result.dataset.type_counts(),
            added=result.added,
            duplicates_dropped=result.duplicates_dropped,
            conflicts=[c.to_dict() for c in result.conflicts],
        )

    def trainable(self, merged: Merged) -> list[str]:
        """Comprehend's minimums (≥ 3 documents and ≥ 25 annotations per type); warnings do not block."""
        try:
            check_trainable(merged.data, limits=self.limits)
        except InvalidTrainingData as error:
            return [str(p) for p in error.problems]
        return []

    def write(
        self, merged: Merged, version: str, test: TestSet | None, waiting: dict[str, int] | None = None
    ) -> DatasetRef:
        folder = f"{self.settings.datasets_prefix}{self.kind.value}/{version}/"
        documents, annotations = to_files(merged.data, documents_file=DOCUMENTS)
        self.bucket.put(folder + DOCUMENTS, documents, content_type="text/plain")
        self.bucket.put(folder + ANNOTATIONS, annotations)
        return DatasetRef(
            kind=self.kind,
            version=version,
            train_uri=self.bucket.uri(folder + DOCUMENTS),
            train_annotations_uri=self.bucket.uri(folder + ANNOTATIONS),
            test_uri=test.uri if test else "",
            test_annotations_uri=test.annotations_uri if test else None,
            test_version=test.version if test else "",
            documents=merged.documents,
            label_counts=merged.label_counts,
            added=merged.added,
            duplicates_dropped=merged.duplicates_dropped,
            conflicts=len(merged.conflicts),
            waiting=waiting or {},
        )

    # --- evaluation ------------------------------------------------------------------------------------
    def test_documents_uri(self, dataset: DatasetRef) -> str:
        """The fixed test documents file itself: it already holds one document per line."""
        return dataset.test_uri or self.bucket.uri(self.test_documents_key)

    def evaluate(self, dataset: DatasetRef, job_output: bytes) -> dict[str, Any]:
        test, predicted = self._predicted(job_output)
        metrics = evaluate_entities(test.annotations, predicted, documents=len(test.documents))
        return metrics.model_dump(mode="json")

    def guard_units(self, data: Any, predict: Callable[[str], Any], *, limit: int, seed: str) -> list[Unit]:
        """One unit per annotated span of the sampled documents: does the champion find it, as that type?"""
        dataset: EntityUpload = data
        grouped = dataset.annotations_by_document()
        units: list[Unit] = []
        for index in sample(len(dataset.documents), limit, seed):
            text = dataset.documents[index]
            found = {(b, e): (t, score) for b, e, t, score in predict(text)}
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            for a in grouped[index]:
                type_, score = found.get((a.begin, a.end), (None, 0.0))
                units.append(Unit(index + 1, a.type, type_, score, digest))
        return units

    def outcomes(self, dataset: DatasetRef, job_output: bytes) -> Outcomes:
        test, predicted = self._predicted(job_output)
        return entity_outcomes(test.annotations, predicted, documents=len(test.documents))

    def _predicted(self, job_output: bytes) -> tuple[EntityUpload, list[Annotation]]:
        documents, test = self._test_data()
        line_to_doc = _document_lines(documents)
        gapless = len(line_to_doc) == len(test.documents) and all(
            line == index for line, index in line_to_doc.items()
        )
        predictions = read_entities_output(
            job_output, expected_lines=len(test.documents) if gapless else None
        )
        # job output counts physical lines; the test annotations count non-empty documents
        return test, [
            Annotation(line_to_doc[p.doc_index], p.begin, p.end, p.type)
            for p in predictions
            if p.doc_index in line_to_doc
        ]

    def baseline(self, job_output: bytes) -> dict[str, Any] | None:
        return None  # drift is watched on the classifier's traffic (the predictions table)

    def _get(self, uri: str) -> bytes:
        bucket, key = split_uri(uri)
        if bucket != self.bucket.name:
            return Bucket(bucket, self.bucket.client).get(key)
        return self.bucket.get(key)


def _document_lines(documents: bytes) -> dict[int, int]:
    """Physical line (zero-based) → index of the document among the non-empty lines."""
    lines = documents.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    mapping: dict[int, int] = {}
    for number, raw in enumerate(lines):
        if raw.strip():
            mapping[number] = len(mapping)
    return mapping


def _ops(client: Any, settings: Settings) -> ModelOps:
    return RecognizerOps(client)


SPEC = KindSpec(
    kind=ModelKind.ENTITY_RECOGNIZER,
    short="ner",
    noun="entity detection",
    max_text_bytes=5_000,  # DetectEntities on a custom endpoint
    metrics=EntityMetrics,
    data=EntityData,
    ops=_ops,
    realtime="detect_entities",
)
