"""Model kinds: one spec and one data implementation per kind, in the order uploads are claimed."""

from __future__ import annotations

from comprehend_al.aws.s3 import Bucket
from comprehend_al.kinds import classifier, entities
from comprehend_al.kinds.base import (
    DataKind,
    KindSpec,
    Merged,
    PartitionedKind,
    TestSet,
    Upload,
    Validated,
    Waiting,
    content_version,
)
from comprehend_al.models import ModelKind
from comprehend_al.settings import Settings

SPECS: dict[ModelKind, KindSpec] = {s.kind: s for s in (classifier.SPEC, entities.SPEC)}

__all__ = [
    "SPECS",
    "DataKind",
    "KindSpec",
    "Merged",
    "PartitionedKind",
    "TestSet",
    "Upload",
    "Validated",
    "Waiting",
    "content_version",
    "data_kinds",
    "spec",
]


def spec(kind: ModelKind) -> KindSpec:
    return SPECS[kind]


def data_kinds(settings: Settings, bucket: Bucket) -> dict[ModelKind, DataKind]:
    """Every model kind the workflow knows, in the order uploads are claimed."""
    return {kind: s.data(settings, bucket) for kind, s in SPECS.items()}
