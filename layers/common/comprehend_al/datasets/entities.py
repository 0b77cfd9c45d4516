"""Entity-recognizer training data: validation, merge and serialisation.

Amazon Comprehend trains a custom entity recognizer from two files:

* a documents file, one document per line (UTF-8, at most 5,000 bytes per document), and
* an annotations CSV with the header ``File,Line,Begin Offset,End Offset,Type``: ``File`` names the
  documents file, ``Line`` is the zero-based line of the document in it, the offsets are zero-based
  character offsets into that line (end exclusive) and ``Type`` is an UPPER_SNAKE entity type.

Two levels of checks, on purpose:

* :func:`validate_upload` checks one upload on its own (encoding, header, offsets, overlaps, type names,
  document sizes, number of types). Every problem is listed, each naming the file, the 1-based line in
  *that* file and the field.
* :func:`check_trainable` checks the Comprehend minimums (at least 3 documents and 25 annotations per
  type). It runs on the *merged* dataset, not on an upload: a reviewer's batch of ten sentences is a fine
  upload once merged into a dataset of thousands.

:func:`merge` builds the next immutable dataset version from the current one and an upload, and
:func:`to_files` writes a dataset back as ``documents.txt`` + ``annotations.csv`` (round-trips exactly
through :func:`validate_upload`).

Why this module is long: it is the one place that knows the recognizer's two-file format (documents,
annotations, their cross-checks, merge, serialisation); split, the rules of one format would scatter.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from comprehend_al.errors import InvalidTrainingData, Problem

HEADER: tuple[str, ...] = ("File", "Line", "Begin Offset", "End Offset", "Type")
TYPE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]*$")
DOCUMENT_FIELD = "document"


@dataclass(frozen=True)
class EntityLimits:
    """Comprehend's limits for entity-recognizer training data (and how many problems to list)."""

    max_types: int = 25
    min_documents_per_type: int = 3
    min_annotations_per_type: int = 25
    max_document_bytes: int = 5_000
    near_minimum_factor: float = 2.0  # warn when a type has fewer than factor x the minimum
    max_problems: int = 100  # problems listed in InvalidTrainingData (one more says how many were cut)


class Annotation(NamedTuple):
    """One entity span: zero-based document index, character offsets (end exclusive) and type."""

    doc_index: int
    begin: int
    end: int
    type: str


@dataclass(frozen=True)
class EntityUpload:
    """A validated entity dataset (an upload, or a merged dataset version).

    ``documents`` holds the non-empty documents in file order; ``annotations`` refer to them by index and
    are sorted by ``(doc_index, begin, end)``. Empty (or whitespace-only) lines of the documents file are
    skipped, so indices are renumbered: :func:`to_files` writes the lines that these indices describe.
    """

    documents: list[str]
    annotations: list[Annotation]
    warnings: list[Problem] = field(default_factory=list)
    empty_documents_skipped: int = 0

    def type_counts(self) -> dict[str, int]:
        """Number of annotations per entity type (sorted by type)."""
        return dict(sorted(Counter(a.type for a in self.annotations).items()))

    def type_document_counts(self) -> dict[str, int]:
        """Number of distinct documents that contain each entity type (sorted by type)."""
        docs: dict[str, set[int]] = defaultdict(set)
        for a in self.annotations:
            docs[a.type].add(a.doc_index)
        return {t: len(docs[t]) for t in sorted(docs)}

    def annotations_by_document(self) -> list[list[Annotation]]:
        """The annotations grouped per document (one list per document, in offset order)."""
        grouped: list[list[Annotation]] = [[] for _ in self.documents]
        for a in self.annotations:
            grouped[a.doc_index].append(a)
        return grouped

    def report(self, *, max_warnings: int = 200) -> dict[str, Any]:
        """JSON-ready summary written beside an accepted or quarantined upload (never document text)."""
        annotations = self.type_counts()
        documents = self.type_document_counts()
        return {
            "documents": len(self.documents),
            "annotations": len(self.annotations),
            "empty_documents_skipped": self.empty_documents_skipped,
            "entity_types": {
                t: {"annotations": annotations[t], "documents": documents[t]} for t in annotations
            },
            "warning_count": len(self.warnings),
            "warnings": [str(w) for w in self.warnings[:max_warnings]],
        }


@dataclass(frozen=True)
class EntityConflict:
    """The same document text arrived with different annotations: the newer annotations won."""

    doc_index: int  # index of the document in the merged dataset
    previous: tuple[Annotation, ...]
    new: tuple[Annotation, ...]

    def to_dict(self) -> dict[str, Any]:
        def spans(annotations: tuple[Annotation, ...]) -> list[list[int | str]]:
            return [[a.begin, a.end, a.type] for a in annotations]

        return {"document": self.doc_index, "previous": spans(self.previous), "new": spans(self.new)}


@dataclass(frozen=True)
class EntityMergeResult:
    dataset: EntityUpload
    added: int  # documents new in this version
    duplicates_dropped: int  # documents already present with identical annotations
    conflicts: list[EntityConflict]  # documents already present with other annotations (newer won)

    def report(self) -> dict[str, Any]:
        return {
            **self.dataset.report(),
            "added": self.added,
            "duplicates_dropped": self.duplicates_dropped,
            "conflict_count": len(self.conflicts),
            "conflicts": [c.to_dict() for c in self.conflicts[:200]],
        }


# --- validation -------------------------------------------------------------------------------------
class _Problems:
    """Collects problems; keeps the first ``limit`` and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[Problem] = []
        self.total = 0

    def add(self, file: str, line: int, field_name: str, reason: str) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(Problem(file, line, field_name, reason))

    def raise_if_any(self, file: str) -> None:
        if not self.total:
            return
        problems = list(self.items)
        if self.total > len(problems):
            problems.append(Problem(file, 0, "*", f"{self.total - len(problems)} more problem(s) not listed"))
        raise InvalidTrainingData(problems)


def _split_documents(data: bytes, file: str, limits: EntityLimits, problems: _Problems) -> list[str | None]:
    """Decode the documents file line by line; ``None`` marks a line that could not be decoded."""
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()  # the newline that ends the last line does not start a document
    lines: list[str | None] = []
    for number, raw in enumerate(raw_lines, start=1):
        raw = raw.rstrip(b"\r")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.add(
                file,
                number,
                DOCUMENT_FIELD,
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start})",
            )
            lines.append(None)
            continue
        if number == 1 and text.startswith("\ufeff"):
            problems.add(
                file, number, DOCUMENT_FIELD, "starts with a UTF-8 byte-order mark; remove it (offsets shift)"
            )
        if len(raw) > limits.max_document_bytes:
            problems.add(
                file,
                number,
                DOCUMENT_FIELD,
                f"{len(raw)} bytes of UTF-8, at most {limits.max_document_bytes} allowed",
            )
        lines.append(text)
    return lines


def _decode_annotations(data: bytes, file: str, problems: _Problems) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.add(file, line, "*", f"not valid UTF-8 (byte 0x{data[exc.start]:02x})")
        return None


def _parse_int(value: str) -> int | None:
    value = value.strip()
    if not re.fullmatch(r"[0-9]+", value):
        return None
    return int(value)


def _file_matches(value: str, documents_file: str) -> bool:
    value = value.strip()
    return value in (documents_file, posixpath.basename(documents_file))


def validate_upload(
    documents: bytes,
    annotations: bytes,
    *,
    documents_file: str,
    annotations_file: str,
    limits: EntityLimits = EntityLimits(),
) -> EntityUpload:
    """Validate one upload of entity training data and return it parsed.

    Raises :class:`InvalidTrainingData` listing every problem found (at most ``limits.max_problems``);
    each :class:`Problem` names the file, the 1-based line in that file (the annotations header is line 1)
    and the field (``document``, ``File``, ``Line``, ``Begin Offset``, ``End Offset``, ``Type`` or ``*``).
    Offsets count characters (code points) of the document line.

    Non-blocking findings come back as ``warnings``: spans that start or end inside a word, spans with
    leading or trailing whitespace, identical duplicate rows (kept once), skipped empty documents.
    The per-type minimums are NOT checked here: see :func:`check_trainable`.
    """
    problems = _Problems(limits.max_problems)
    warnings: list[Problem] = []
    lines = _split_documents(documents, documents_file, limits, problems)
    if lines and lines[0] is not None and tuple(c.strip() for c in lines[0].split(",")) == HEADER:
        warnings.append(
            Problem(
                documents_file,
                1,
                DOCUMENT_FIELD,
                "the annotations header in the documents file: line skipped (it belongs in annotations.csv; "
                "annotation line numbers still count it)",
            )
        )
        lines[0] = ""
    text = _decode_annotations(annotations, annotations_file, problems)
    if text is None:
        problems.raise_if_any(annotations_file)
        raise AssertionError("unreachable")  # pragma: no cover

    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 1
    rows: list[tuple[int, list[str]]] = []
    next_line = 1
    try:
        for row in reader:
            start = next_line
            next_line = reader.line_num + 1
            if not row or all(not cell.strip() for cell in row):
                continue  # blank line
            if header is None:
                header, header_line = row, start
                continue
            rows.append((start, row))
    except csv.Error as exc:
        problems.add(annotations_file, next_line, "*", f"not readable as CSV: {exc}")
        problems.raise_if_any(annotations_file)

    if header is None:
        problems.add(annotations_file, 1, "*", f"empty file; expected the header {','.join(HEADER)}")
        problems.raise_if_any(annotations_file)
    assert header is not None
    if tuple(header) != HEADER:
        looks_like_data = len(header) == len(HEADER) and _parse_int(header[1]) is not None
        reason = (
            f"header missing: the first row is data; add the header {','.join(HEADER)}"
            if looks_like_data
            else f"header is {','.join(header)!r}, expected {','.join(HEADER)}"
        )
        problems.add(annotations_file, header_line, "*", reason)
        problems.raise_if_any(annotations_file)  # columns unknown: row checks would only add noise

    # Documents that exist: non-empty lines; keep the mapping from file line to dataset index.
    doc_index: dict[int, int] = {}
    kept: list[str] = []
    parsed: list[tuple[int, int, int, int, str]] = []  # csv line, document line (0-based), begin, end, type
    for csv_line, row in rows:
        if len(row) != len(HEADER):
            problems.add(annotations_file, csv_line, "*", f"{len(row)} fields, expected {len(HEADER)}")
            continue
        file_value, line_value, begin_value, end_value, type_value = (cell.strip() for cell in row)
        ok = True
        if not _file_matches(file_value, documents_file):
            problems.add(
                annotations_file,
                csv_line,
                "File",
                f"{file_value!r} is not the documents file {posixpath.basename(documents_file)!r}",
            )
            ok = False
        line = _parse_int(line_value)
        document: str | None = None
        if line is None:
            problems.add(
                annotations_file, csv_line, "Line", f"{line_value!r} is not a zero-based line number"
            )
            ok = False
        elif line >= len(lines):
            problems.add(
                annotations_file,
                csv_line,
                "Line",
                f"line {line} does not exist: {documents_file} has {len(lines)} line(s) (zero-based)",
            )
            ok = False
        else:
            document = lines[line]
            if document is not None and not document.strip():
                problems.add(annotations_file, csv_line, "Line", f"document on line {line} is empty")
                ok = False
                document = None
            elif document is None:
                ok = False  # undecodable line: already reported on the documents file
        begin = _parse_int(begin_value)
        end = _parse_int(end_value)
        if begin is None:
            problems.add(
                annotations_file, csv_line, "Begin Offset", f"{begin_value!r} is not a zero-based offset"
            )
            ok = False
        if end is None:
            problems.add(
                annotations_file, csv_line, "End Offset", f"{end_value!r} is not a zero-based offset"
            )
            ok = False
        if begin is not None and end is not None:
            if end <= begin:
                problems.add(
                    annotations_file,
                    csv_line,
                    "End Offset",
                    f"end {end} must be greater than begin {begin} (end is exclusive)",
                )
                ok = False
            elif document is not None and end > len(document):
                problems.add(
                    annotations_file,
                    csv_line,
                    "End Offset",
                    f"end {end} is past the end of the document on line {line} ({len(document)} characters)",
                )
                ok = False
        if not TYPE_PATTERN.match(type_value):
            problems.add(
                annotations_file, csv_line, "Type", f"{type_value!r} is not UPPER_SNAKE ([A-Z][A-Z0-9_]*)"
            )
            ok = False
        if ok:
            assert line is not None and begin is not None and end is not None
            parsed.append((csv_line, line, begin, end, type_value))

    for number, document in enumerate(lines):
        if document is None:
            continue
        if not document.strip():
            warnings.append(Problem(documents_file, number + 1, DOCUMENT_FIELD, "empty document skipped"))
            continue
        doc_index[number] = len(kept)
        kept.append(document)

    # Duplicates and overlaps, per document in offset order.
    by_line: dict[int, list[tuple[int, int, int, int, str]]] = defaultdict(list)
    for item in parsed:
        by_line[item[1]].append(item)
    result: list[Annotation] = []
    for line, items in by_line.items():
        items.sort(key=lambda item: (item[2], item[3], item[0]))
        document = lines[line]
        assert document is not None
        previous: tuple[int, int, int, int, str] | None = None
        for item in items:
            csv_line, _, begin, end, type_ = item
            if previous is not None:
                p_line, _, p_begin, p_end, p_type = previous
                if (p_begin, p_end, p_type) == (begin, end, type_):
                    warnings.append(
                        Problem(
                            annotations_file,
                            csv_line,
                            "*",
                            f"duplicate of the row on line {p_line}; kept once",
                        )
                    )
                    continue
                if begin < p_end:
                    problems.add(
                        annotations_file,
                        csv_line,
                        "Begin Offset",
                        f"span [{begin},{end}) {type_} overlaps span [{p_begin},{p_end}) {p_type} "
                        f"on line {p_line}",
                    )
                    if end > p_end:
                        previous = item  # the span reaching furthest is the reference for later rows
                    continue
            previous = item
            result.append(Annotation(doc_index[line], begin, end, type_))
            warnings.extend(_span_warnings(document, begin, end, annotations_file, csv_line))

    types = sorted({a.type for a in result})
    if len(types) > limits.max_types:
        problems.add(
            annotations_file,
            0,
            "Type",
            f"{len(types)} entity types, at most {limits.max_types} allowed: {', '.join(types)}",
        )
    problems.raise_if_any(annotations_file)
    result.sort()
    warnings.sort(key=lambda w: (w.file != documents_file, w.line))
    return EntityUpload(
        documents=kept,
        annotations=result,
        warnings=warnings,
        empty_documents_skipped=len(lines) - len(kept),
    )


def _span_warnings(document: str, begin: int, end: int, file: str, line: int) -> Iterable[Problem]:
    span = document[begin:end]
    if span != span.strip():
        yield Problem(file, line, "Begin Offset", f"span {span!r} has leading or trailing whitespace")
    if begin > 0 and document[begin - 1].isalnum() and document[begin].isalnum():
        yield Problem(file, line, "Begin Offset", f"span {span!r} starts inside a word")
    if end < len(document) and document[end - 1].isalnum() and document[end].isalnum():
        yield Problem(file, line, "End Offset", f"span {span!r} ends inside a word")


def check_trainable(
    dataset: EntityUpload,
    *,
    annotations_file: str = "annotations.csv",
    limits: EntityLimits = EntityLimits(),
) -> list[Problem]:
    """Check Comprehend's training minimums on a (merged) dataset; return warnings.

    Raises :class:`InvalidTrainingData` when there are no annotations, more than ``max_types`` types, or a
    type with fewer than ``min_documents_per_type`` documents or ``min_annotations_per_type`` annotations.
    Returns a warning for every type below ``near_minimum_factor`` times a minimum (it could drop under the
    minimum when the data is split). Run it on the merged dataset, not on an upload (see module doc).
    """
    problems = _Problems(limits.max_problems)
    warnings: list[Problem] = []
    annotations = dataset.type_counts()
    documents = dataset.type_document_counts()
    if not annotations:
        problems.add(annotations_file, 0, "Type", "no annotations: nothing to train on")
    if len(annotations) > limits.max_types:
        problems.add(
            annotations_file,
            0,
            "Type",
            f"{len(annotations)} entity types, at most {limits.max_types} allowed",
        )
    for type_, count in annotations.items():
        docs = documents[type_]
        short = []
        if count < limits.min_annotations_per_type:
            short.append(f"{count} annotations (at least {limits.min_annotations_per_type})")
        if docs < limits.min_documents_per_type:
            short.append(f"{docs} documents (at least {limits.min_documents_per_type})")
        if short:
            problems.add(annotations_file, 0, "Type", f"{type_}: {' and '.join(short)}")
            continue
        factor = limits.near_minimum_factor
        if count < factor * limits.min_annotations_per_type or docs < factor * limits.min_documents_per_type:
            warnings.append(
                Problem(
                    annotations_file,
                    0,
                    "Type",
                    f"{type_}: {count} annotations in {docs} documents, close to the minimum "
                    f"({limits.min_annotations_per_type} annotations, "
                    f"{limits.min_documents_per_type} documents)",
                )
            )
    problems.raise_if_any(annotations_file)
    return warnings


def waiting_types(
    dataset: EntityUpload, test_types: set[str] | None, *, limits: EntityLimits = EntityLimits()
) -> tuple[dict[str, int], list[str]]:
    """Entity types that wait (``type → annotations``, one note each): under Comprehend's minimums, or
    absent from the fixed test set (``test_types``; ``None``: unknown). The others train without them."""
    documents = dataset.type_document_counts()
    waiting: dict[str, int] = {}
    notes: list[str] = []
    for type_, count in dataset.type_counts().items():
        docs = documents[type_]
        if count < limits.min_annotations_per_type or docs < limits.min_documents_per_type:
            waiting[type_] = count
            notes.append(
                f"entity type {type_!r}: {count} of {limits.min_annotations_per_type} annotations, "
                f"{docs} of {limits.min_documents_per_type} documents"
            )
        elif test_types is not None and type_ not in test_types:
            waiting[type_] = count
            notes.append(f"entity type {type_!r}: {count} annotations, not in the fixed test set")
    return waiting, notes


# --- merge and serialisation ------------------------------------------------------------------------
def merge(current: EntityUpload, new: EntityUpload) -> EntityMergeResult:
    """Build the next dataset version: ``current`` followed by the documents of ``new``.

    Documents are keyed by their exact text. A document already present with identical annotations is a
    duplicate (dropped, counted); the same text with different annotations is a conflict: the newer
    annotations win, in the position of the older document, and the conflict is reported. Duplicates inside
    ``current`` are folded the same way (the first position is kept). Neither input is modified.
    """
    texts: list[str] = []
    spans: list[tuple[Annotation, ...]] = []
    position: dict[str, int] = {}
    added = duplicates = 0
    conflicts: list[EntityConflict] = []

    def add(dataset: EntityUpload, *, is_new: bool) -> None:
        nonlocal added, duplicates
        for text, doc_annotations in zip(dataset.documents, dataset.annotations_by_document(), strict=True):
            index = position.get(text)
            if index is None:
                position[text] = len(texts)
                texts.append(text)
                spans.append(
                    tuple(Annotation(len(texts) - 1, a.begin, a.end, a.type) for a in doc_annotations)
                )
                added += is_new
                continue
            incoming = tuple(Annotation(index, a.begin, a.end, a.type) for a in doc_annotations)
            if incoming == spans[index]:
                duplicates += 1
            else:
                conflicts.append(EntityConflict(index, spans[index], incoming))
                spans[index] = incoming

    add(current, is_new=False)
    add(new, is_new=True)
    dataset = EntityUpload(documents=texts, annotations=[a for doc in spans for a in doc])
    return EntityMergeResult(dataset=dataset, added=added, duplicates_dropped=duplicates, conflicts=conflicts)


def to_files(dataset: EntityUpload, *, documents_file: str = "documents.txt") -> tuple[bytes, bytes]:
    """Serialise a dataset as (documents file, annotations CSV) bytes, lines numbered from 0."""
    for number, document in enumerate(dataset.documents):
        if "\n" in document or "\r" in document[-1:] or not document.strip():
            raise ValueError(f"document {number} cannot be written as one line")
    documents = "".join(f"{d}\n" for d in dataset.documents).encode("utf-8")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    name = posixpath.basename(documents_file)
    for a in sorted(dataset.annotations):
        writer.writerow((name, a.doc_index, a.begin, a.end, a.type))
    return documents, out.getvalue().encode("utf-8")
