"""Model lines: several independent models of one kind (one per language, one per level of a taxonomy).

A line is ``(kind, line name)``. The *default line* (name ``""``) is the stack as it always was: every
S3 prefix, registry key, SSM pointer and resource name stays what it was, so existing stacks and data are
untouched. A named line (a language code such as ``es``; ``c-<parent>`` for a taxonomy's child model) is
the same lifecycle run with everything scoped to it:

============================  ==========================  =====================================
what                          default line                line ``es``
============================  ==========================  =====================================
uploads                       ``train/new/…``             ``train/new/es/…``
fixed test set                ``test/classifier/test.csv``  ``test/es/classifier/test.csv``
datasets, outputs, processed  ``datasets/…`` …            ``datasets/es/…`` …
registry items                ``MODEL#classifier`` …      ``MODEL#classifier@es`` … (lock too)
active pointer (SSM)          ``classifier/active``       ``classifier/lines/es/active``
model / endpoint names        ``comprehend-al-classifier``  ``comprehend-al-classifier-es``, ``…-clf-es-…``
training LanguageCode         ``LANGUAGE_CODE``           ``es`` (a taxonomy line: the stack's)
============================  ==========================  =====================================

The state machine carries the line in each run (``Run.line``): PrepareTrainingData prepares every line
that has uploads (:func:`prepare_lines`), the Map runs one branch per (kind, line), and each step builds
its dependencies for its run's line (:func:`for_line`). Run-time tunables (selection metric, review
thresholds) stay stack-wide. Folders under ``train/new/`` named like a line belong to that line, never to
the default line (:class:`LineBucket`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, cast

from comprehend_al.aws.s3 import Bucket, ObjectInfo
from comprehend_al.errors import InvalidRequest
from comprehend_al.models import ModelKind
from comprehend_al.settings import Settings
from comprehend_al.state import PrepareResult
from comprehend_al.store.registry import Registry

DEFAULT = ""
LINE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,11}")  # in S3 keys, SSM names and (14-char) endpoint names
CHILD_PREFIX = "c-"  # a taxonomy's child model: ``c-<parent slug>`` (see comprehend_al.hierarchy)
SCOPED = ("MODEL#", "DATASET#", "BATCH#", "ROLLBACK#", "LOCK#")  # registry partitions that belong to a line


def check_line(line: str) -> str:
    if line != DEFAULT and not LINE_NAME.fullmatch(line):
        raise InvalidRequest(f"line {line!r}: expected 1-12 characters of [a-z0-9-], starting alphanumeric")
    return line


def is_language(settings: Settings, line: str) -> bool:
    return line in settings.language_lines


def line_settings(settings: Settings, line: str) -> Settings:
    """The settings of ``line``: every prefix and name scoped to it (the default line: unchanged)."""
    if check_line(line) == DEFAULT:
        return settings
    return settings.model_copy(
        update={
            "line": line,
            "upload_prefix": f"{settings.upload_prefix}{line}/",
            "processed_prefix": f"{settings.processed_prefix}{line}/",
            "test_prefix": f"{settings.test_prefix}{line}/",
            "datasets_prefix": f"{settings.datasets_prefix}{line}/",
            "quarantine_prefix": f"{settings.quarantine_prefix}{line}/",
            "output_prefix": f"{settings.output_prefix}{line}/",
            "language_code": line if is_language(settings, line) else settings.language_code,
        }
    )


def known_line(settings: Settings, name: str) -> bool:
    """Is a folder of ``train/new/`` with this name a line's (a configured language or a child model)?"""
    return is_language(settings, name) or (
        name.startswith(CHILD_PREFIX) and LINE_NAME.fullmatch(name) is not None
    )


def pending_lines(settings: Settings, objects: list[ObjectInfo]) -> list[str]:
    """The lines with objects under ``train/new/<line>/``, in name order."""
    found = set()
    for info in objects:
        rest = info.key[len(settings.upload_prefix) :]
        if "/" in rest and known_line(settings, rest.split("/", 1)[0]):
            found.add(rest.split("/", 1)[0])
    return sorted(found)


class LineBucket(Bucket):
    """The data bucket as the default line sees it: the lines' folders of ``train/new/`` are not its own."""

    def __init__(self, bucket: Bucket, settings: Settings) -> None:
        self.__dict__.update(bucket.__dict__)
        self._settings = settings

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = self._settings.upload_prefix
        for info in super().list(prefix):
            if not (info.key.startswith(base) and self._in_line(info.key[len(base) :])):
                yield info

    def _in_line(self, rest: str) -> bool:
        return "/" in rest and known_line(self._settings, rest.split("/", 1)[0])


class _ScopedKind:
    """Stands for a kind where the registry spells a line-scoped key from ``kind.value``."""

    def __init__(self, kind: ModelKind, line: str) -> None:
        self.value = f"{kind.value}@{line}"


class LineRegistry(Registry):
    """The registry of one line: its models, datasets, batches, rollbacks and lock under ``<pk>@<line>``."""

    def __init__(self, registry: Registry, line: str) -> None:
        self.__dict__.update(registry.__dict__)
        self.line = check_line(line)

    def _pk(self, pk: str) -> str:
        return f"{pk}@{self.line}" if pk.startswith(SCOPED) else pk

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return super()._get(self._pk(pk), sk)

    def _put(self, pk: str, sk: str, values: dict[str, Any]) -> None:
        super()._put(self._pk(pk), sk, values)

    def _update(self, pk: str, sk: str, values: dict[str, Any]) -> None:
        super()._update(self._pk(pk), sk, values)

    def _query(self, pk: str) -> list[dict[str, Any]]:
        return super()._query(self._pk(pk))

    def acquire_lock(self, kind: ModelKind, holder: str, *, seconds: int) -> bool:
        return super().acquire_lock(cast(ModelKind, _ScopedKind(kind, self.line)), holder, seconds=seconds)

    def release_lock(self, kind: ModelKind, holder: str) -> None:
        super().release_lock(cast(ModelKind, _ScopedKind(kind, self.line)), holder)


def for_line(deps: Any, line: str) -> Any:
    """A lifecycle step's dependencies for its run's line: the default line's are ``deps`` themselves."""
    return deps if line == DEFAULT else with_line(deps, line)


def with_line(deps: Any, line: str) -> Any:
    """``deps`` (a lifecycle :class:`~comprehend_al.lifecycle.deps.Deps`) for ``line``."""
    if check_line(line) == DEFAULT:
        return replace(deps, bucket=LineBucket(deps.bucket, deps.settings), _kinds=None)
    return replace(
        deps,
        settings=line_settings(deps.settings, line),
        registry=LineRegistry(deps.registry, line),
        _kinds=None,
    )


def merge_results(parts: list[tuple[str, PrepareResult]]) -> PrepareResult:
    """One PrepareResult of every line's: runs carry their line, outcomes name it."""
    result = PrepareResult()
    for line, part in parts:
        result.runs.extend(run.model_copy(update={"line": line}) for run in part.runs)
        result.outcomes.extend({**o, "line": line} if line else o for o in part.outcomes)
    return result
