"""Comprehend document-classifier training data: validate an upload, merge versions, write the CSV.

Format (Comprehend ``COMPREHEND_CSV``): UTF-8, no header, one record ``LABEL,text`` per line, RFC 4180
quoting (a field holding a comma, a quote or a line break is enclosed in double quotes and its quotes are
doubled). Multi-label: the labels of one document are joined by ``LabelDelimiter`` (default ``|``).

Conventions (decided here, relied on by the handlers and tests):

* **Lines.** ``Row.line`` and ``Problem.line`` are 1-based *physical* lines of the upload: the line on
  which the record starts. Lines end with ``\\n`` or ``\\r\\n``; a quoted field may span several lines.
* **Labels.** Comprehend's API only forbids control characters (``^\\P{C}*$``, <= 5,000 chars). We accept a
  stricter, portable set so that labels survive CSV, S3 keys, metric names and the review UI unchanged:
  letters and digits of any script, ``_``, ``-``, ``.``, and spaces *inside* a label (never leading or
  trailing). Labels are case-sensitive (``Sports`` and ``SPORTS`` are two labels). In multi-class mode a
  label containing the delimiter (``|``) is reported as such: it is almost always multi-label data sent to
  a multi-class classifier. In multi-label mode the delimiter must be a character Comprehend accepts as
  ``LabelDelimiter`` (botocore pattern ``^[ ~!@#$%^*\\-_+=|\\\\:;\\t>?/]$``).
* **Text** is kept exactly as uploaded (no stripping, no formula escaping: the consumer is Comprehend,
  not a spreadsheet). It must be non-blank and at most ``Limits.max_document_bytes`` bytes of UTF-8.
* **Normalisation for comparing texts** (duplicates, conflicts): leading/trailing whitespace stripped and
  inner runs of whitespace (including line breaks) collapsed to one space. Nothing else: case, Unicode
  form and punctuation are significant, because they may be significant to the model.
* **Label sets** are compared as sets: ``A|B`` and ``B|A`` label the document identically.
* **A header line** (Comprehend reads none): a first record whose two fields are header words (``label,text``,
  ``class,text``, ``category,document``, either order), or the entity annotations header
  (``File,Line,Begin Offset,End Offset,Type``) in a CSV upload, is skipped and reported as a warning; the
  rest of the file is validated as usual (a header is not data: it must not become a class).

Why this module is long: it is the one place that knows the classifier's file format (parsing, every
validation rule with its file/line/field message, merge, serialisation); split, the rules of one format
would be read in several places.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from comprehend_al.errors import InvalidRequest, InvalidTrainingData, Problem
from comprehend_al.hierarchy import FLAT, encode_class, path_problems
from comprehend_al.models import Frozen

# Characters Comprehend accepts as LabelDelimiter (botocore service model).
COMPREHEND_DELIMITERS = frozenset(" ~!@#$%^*-_+=|\\:;\t>?/")
MAX_LABELS_MULTI_CLASS = 1000  # Comprehend: up to 1,000 classes in multi-class mode
MAX_LABELS_MULTI_LABEL = 100  # Comprehend: up to 100 unique classes in multi-label mode


@dataclass(frozen=True, slots=True)
class Limits:
    """Validation limits of one upload (defaults follow Comprehend's quotas where it has one)."""

    max_file_bytes: int = 64 * 1024 * 1024  # one upload; the parsing Lambda holds it in memory
    max_document_bytes: int = 10_000  # UTF-8 bytes per document
    max_label_chars: int = 5_000
    max_labels_multi_class: int = MAX_LABELS_MULTI_CLASS
    max_labels_multi_label: int = MAX_LABELS_MULTI_LABEL
    max_problems: int = 100  # stop collecting after this many problems


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled document. ``line``: 1-based physical line where its record starts (0: not from a file)."""

    labels: tuple[str, ...]
    text: str
    line: int = 0


class Conflict(Frozen):
    """The same (normalised) text labelled differently in two versions: the newer row won."""

    text_hash: str  # sha256 of the normalised text (documents are never logged)
    old_labels: tuple[str, ...]
    new_labels: tuple[str, ...]
    line: int  # line of the winning row in its upload (0 when unknown)


@dataclass(frozen=True, slots=True)
class MergeResult:
    rows: tuple[Row, ...]
    added: int  # new texts appended
    duplicates_dropped: int  # rows identical (normalised text, label set) to a row already kept
    conflicts: tuple[Conflict, ...]  # rows that replaced a differently labelled row, in order
    label_counts: dict[str, int]


# --- helpers ----------------------------------------------------------------------------------------
def normalize_text(text: str) -> str:
    """The comparison key of a document: whitespace stripped and collapsed, nothing else."""
    return " ".join(text.split())


def text_hash(text: str) -> str:
    """sha256 (hex) of the normalised text: identifies a document in reports without its content."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def check_delimiter(delimiter: str) -> None:
    if len(delimiter) != 1 or delimiter not in COMPREHEND_DELIMITERS:
        raise InvalidRequest(
            f"label delimiter {delimiter!r} is not one Comprehend accepts: "
            f"one of {''.join(sorted(COMPREHEND_DELIMITERS))!r}"
        )


def _label_char_ok(ch: str) -> bool:
    return ch.isalnum() or ch in "_-. "


def label_problems(label: str, *, multi_label: bool, delimiter: str, max_chars: int) -> list[str]:
    """Reasons why one label (one segment in multi-label mode) is not acceptable."""
    if not label:
        return ["label is empty"]
    reasons: list[str] = []
    if label != label.strip():
        reasons.append(f"label {_short(label)} has leading or trailing whitespace")
    if len(label) > max_chars:
        reasons.append(f"label is {len(label)} characters long; the limit is {max_chars}")
    if not multi_label and delimiter in label:
        reasons.append(
            f"label {_short(label)} contains {delimiter!r}: "
            "multi-label data sent to a multi-class classifier?"
        )
    else:
        bad = sorted({ch for ch in label if not _label_char_ok(ch)})
        if bad:
            shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in bad[:5])
            reasons.append(
                f"label {_short(label)} contains {shown}: "
                "only letters, digits, '_', '-', '.' and inner spaces are allowed"
            )
    return reasons


def _short(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _label_set_str(labels: Iterable[str], delimiter: str = "|") -> str:
    return delimiter.join(labels)


# --- CSV tokenizer ----------------------------------------------------------------------------------
_QUOTED = re.compile(r'"((?:[^"]*"")*[^"]*)"')
_UNQUOTED = re.compile(r'[^,"\r\n]*')
_BLANK = re.compile(r"[ \t]*(?:\r?\n|\Z)")


@dataclass(frozen=True, slots=True)
class _Record:
    line: int
    fields: list[str] | None  # None: the record is malformed
    error: str = ""


def _records(text: str) -> Iterable[_Record]:
    """Split ``text`` into RFC 4180 records, each with the physical line it starts on.

    Blank (whitespace-only) lines are skipped. A malformed record yields an error and parsing resumes
    on the line after the one where the error was found.
    """
    pos, n, line = 0, len(text), 1
    while pos < n:
        blank = _BLANK.match(text, pos)
        if blank and blank.end() > pos:
            pos = blank.end()
            line += 1
            continue
        start, start_line = pos, line
        fields: list[str] = []
        error = ""
        while True:
            if text.startswith('"', pos):
                quoted = _QUOTED.match(text, pos)
                if quoted is None:
                    error = "unterminated quoted field: a '\"' opens a field that never closes"
                    pos = n
                    break
                fields.append(quoted.group(1).replace('""', '"'))
                pos = quoted.end()
                after_quote = True
            else:
                unquoted = _UNQUOTED.match(text, pos)
                assert unquoted is not None  # the pattern matches the empty string
                fields.append(unquoted.group())
                pos = unquoted.end()
                after_quote = False
            if pos >= n:
                break
            ch = text[pos]
            if ch == ",":
                pos += 1
                continue
            if ch == "\n":
                pos += 1
                break
            if text.startswith("\r\n", pos):
                pos += 2
                break
            where = start_line + text.count("\n", start, pos)
            at = f" (on line {where})" if where != start_line else ""
            if ch == "\r":
                error = f"carriage return without line feed{at}: use \\n or \\r\\n line endings"
            elif after_quote:
                error = (
                    f"unexpected {ch!r} after a closing quote{at}: "
                    'quotes inside a quoted field must be doubled ("")'
                )
            else:
                error = (
                    f"stray quote in an unquoted field{at}: "
                    'enclose the field in quotes and double its quotes ("")'
                )
            next_line = text.find("\n", pos)
            pos = n if next_line < 0 else next_line + 1
            break
        line = start_line + text.count("\n", start, pos)
        yield _Record(start_line, None if error else fields, error)


# --- header lines -----------------------------------------------------------------------------------
LABEL_HEADERS = frozenset(
    [
        "label",
        "labels",
        "class",
        "classes",
        "category",
        "categories",
        "intent",
        "intents",
        "topic",
        "tag",
        "tags",
        "target",
        "sentiment",
        "y",
    ]
)
TEXT_HEADERS = frozenset(
    [
        "text",
        "texts",
        "document",
        "documents",
        "doc",
        "content",
        "sentence",
        "body",
        "message",
        "utterance",
        "review",
        "comment",
        "x",
    ]
)
ANNOTATIONS_HEADER = ("file", "line", "begin offset", "end offset", "type")


def header_reason(fields: Sequence[str]) -> str | None:
    """Why a first record is a header line rather than data (``None``: it is data)."""
    words = tuple(f.strip().lower() for f in fields)
    if words == ANNOTATIONS_HEADER:
        return (
            "the entity annotations header (File,Line,Begin Offset,End Offset,Type): this looks like an "
            "annotations.csv, which belongs in a folder with its documents.txt; line skipped"
        )
    if len(words) == 2 and (
        (words[0] in LABEL_HEADERS and words[1] in TEXT_HEADERS)
        or (words[0] in TEXT_HEADERS and words[1] in LABEL_HEADERS)
    ):
        return f"a header line ({','.join(fields)}), not a labelled document: skipped"
    return None


# --- parse ------------------------------------------------------------------------------------------
class _Problems:
    def __init__(self, file: str, cap: int) -> None:
        self.file = file
        self.cap = cap
        self.items: list[Problem] = []

    @property
    def full(self) -> bool:
        return len(self.items) >= self.cap

    def add(self, line: int, field: str, reason: str) -> None:
        if not self.full:
            self.items.append(Problem(self.file, line, field, reason))

    def raise_if_any(self) -> None:
        if self.items:
            problems = list(self.items)
            if self.full:
                problems.append(
                    Problem(self.file, 0, "file", f"stopped after {self.cap} problems; fix these first")
                )
            raise InvalidTrainingData(problems)


def _decode(data: bytes, problems: _Problems) -> str | None:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        problems.add(0, "encoding", "the file is UTF-16; save it as UTF-8")
        return None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.add(line, "encoding", f"invalid UTF-8 byte 0x{data[exc.start]:02X}: the file must be UTF-8")
        # Keep validating with the bad bytes replaced, so that every other problem is reported too.
        return data.decode("utf-8", errors="replace")


def parse_upload(
    data: bytes,
    *,
    file: str,
    multi_label: bool,
    delimiter: str = "|",
    limits: Limits = DEFAULT_LIMITS,
    warnings: list[Problem] | None = None,
    taxonomy: str = "",
) -> list[Row]:
    """Validate an uploaded training CSV and return its rows; raise ``InvalidTrainingData`` listing every
    problem found (up to ``limits.max_problems``).

    Blank lines are skipped. The same text twice with the same labels is kept (``merge`` drops the
    duplicate); the same text with different labels in one upload is a problem (which one is right?).
    A header line is skipped; ``warnings`` (when given) receives a problem saying so.
    With ``taxonomy="flat"`` a label may be a path (``PARENT/CHILD``): each level is checked by the rules
    above, and the row's label is the model's class name (``PARENT__CHILD``, :mod:`comprehend_al.hierarchy`).
    """
    check_delimiter(delimiter)
    problems = _Problems(file, limits.max_problems)
    if len(data) > limits.max_file_bytes:
        problems.add(0, "file", f"the file is {len(data)} bytes; the limit is {limits.max_file_bytes}")
        problems.raise_if_any()
    text = _decode(data, problems)
    if text is None:
        problems.raise_if_any()
        return []  # unreachable: a problem was recorded

    rows: list[Row] = []
    seen: dict[str, tuple[frozenset[str], int]] = {}  # normalised text -> (label set, first line)
    labels_seen: set[str] = set()
    first_record = True
    for record in _records(text):
        if problems.full:
            break
        if record.fields is None:
            problems.add(record.line, "record", record.error)
            first_record = False
            continue
        if first_record:
            first_record = False
            reason = header_reason(record.fields)
            if reason:
                if warnings is not None:
                    warnings.append(Problem(file, record.line, "record", reason))
                continue
        row = _check_record(
            record, problems, multi_label=multi_label, delimiter=delimiter, limits=limits, taxonomy=taxonomy
        )
        if row is None:
            continue
        key = normalize_text(row.text)
        label_set = frozenset(row.labels)
        first = seen.setdefault(key, (label_set, row.line))
        if first[0] != label_set:
            problems.add(
                row.line,
                "text",
                f"same text as line {first[1]} with different labels "
                f"({_label_set_str(sorted(first[0]))} vs {_label_set_str(sorted(label_set))})",
            )
            continue
        labels_seen.update(row.labels)
        rows.append(row)

    max_labels = limits.max_labels_multi_label if multi_label else limits.max_labels_multi_class
    if len(labels_seen) > max_labels:
        reason = f"{len(labels_seen)} distinct labels; Comprehend allows at most {max_labels}"
        problems.add(0, "label", reason)
    if not rows and not problems.items:
        problems.add(0, "file", "no records: the file is empty or holds only blank lines")
    problems.raise_if_any()
    return rows


def _check_record(
    record: _Record,
    problems: _Problems,
    *,
    multi_label: bool,
    delimiter: str,
    limits: Limits,
    taxonomy: str = "",
) -> Row | None:
    fields = record.fields or []
    line = record.line
    if len(fields) != 2:
        hint = ": quote the text if it contains commas" if len(fields) > 2 else ""
        problems.add(line, "record", f"expected 2 fields (label,text), found {len(fields)}{hint}")
        return None
    label_field, text = fields
    ok = True

    labels: tuple[str, ...]
    if multi_label and label_field:
        labels = tuple(label_field.split(delimiter))
        if any(not segment for segment in labels):
            problems.add(line, "label", f"empty label between or around {delimiter!r} delimiters")
            ok = False
        duplicates = sorted(label for label, n in Counter(labels).items() if n > 1 and label)
        if duplicates:
            problems.add(line, "label", f"label(s) repeated in one record: {', '.join(duplicates)}")
            ok = False
        to_check = [segment for segment in labels if segment]
    else:
        labels = (label_field,)
        to_check = [label_field]

    def check(label: str) -> list[str]:
        return label_problems(
            label, multi_label=multi_label, delimiter=delimiter, max_chars=limits.max_label_chars
        )

    flat = taxonomy == FLAT
    for label in to_check:
        for reason in path_problems(label, check) if flat else check(label):
            problems.add(line, "label", reason)
            ok = False
    if flat:
        labels = tuple(encode_class(label) for label in labels)

    if not text.strip():
        problems.add(line, "text", "text is empty")
        ok = False
    elif 4 * len(text) > limits.max_document_bytes:  # a character is at most 4 bytes: cheap pre-check
        size = len(text.encode("utf-8"))
        if size > limits.max_document_bytes:
            reason = f"text is {size} bytes (UTF-8); the limit is {limits.max_document_bytes}"
            problems.add(line, "text", reason)
            ok = False
    return Row(labels, text, line) if ok else None


# --- merge ------------------------------------------------------------------------------------------
def merge(current: Sequence[Row], new: Sequence[Row]) -> MergeResult:
    """Fold ``new`` into ``current`` and return the next immutable dataset version.

    * exact duplicate (same normalised text, same label set): dropped, the first row is kept;
    * same normalised text, different label set: a conflict; the NEWER row wins (human review and user
      feedback are corrections) and replaces the older row *in place*, so that versions differ minimally;
    * otherwise the row is appended. Order is stable: ``current`` order, then ``new`` order.
    Rows are folded one at a time, so duplicates and conflicts inside ``new`` follow the same rules.
    """
    rows: list[Row] = []
    index: dict[str, int] = {}
    duplicates = 0
    added = 0
    conflicts: list[Conflict] = []
    for is_new, batch in ((False, current), (True, new)):
        for row in batch:
            key = normalize_text(row.text)
            at = index.get(key)
            if at is None:
                index[key] = len(rows)
                rows.append(row)
                added += is_new
                continue
            old = rows[at]
            if frozenset(old.labels) == frozenset(row.labels):
                duplicates += 1
                continue
            rows[at] = row
            conflicts.append(
                Conflict(
                    text_hash=hashlib.sha256(key.encode("utf-8")).hexdigest(),
                    old_labels=old.labels,
                    new_labels=row.labels,
                    line=row.line,
                )
            )
    return MergeResult(
        rows=tuple(rows),
        added=added,
        duplicates_dropped=duplicates,
        conflicts=tuple(conflicts),
        label_counts=label_report(rows),
    )


def label_report(rows: Iterable[Row]) -> dict[str, int]:
    """Documents per label (a multi-label document counts once for each of its labels), sorted by label."""
    counts = Counter(label for row in rows for label in dict.fromkeys(row.labels))
    return dict(sorted(counts.items()))


# --- write ------------------------------------------------------------------------------------------
_NEEDS_QUOTES = re.compile(r'[",\r\n]|^\s|\s$')


def _csv_field(value: str) -> str:
    if _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def to_csv(rows: Iterable[Row], *, delimiter: str = "|") -> bytes:
    """The training CSV Comprehend reads: UTF-8, no header, ``\\n`` after every record, RFC 4180 quoting.

    A field is quoted when it holds a comma, a quote or a line break, and also when it starts or ends with
    whitespace (legal either way; quoting keeps lenient readers from trimming it). ``parse_upload``
    reads the output back to the same labels and texts.
    """
    return "".join(
        f"{_csv_field(delimiter.join(row.labels))},{_csv_field(row.text)}\n" for row in rows
    ).encode("utf-8")


def read_stored(data: bytes, *, multi_label: bool, delimiter: str = "|") -> list[Row]:
    """Read back a file :func:`to_csv` wrote (a batch or a dataset part, validated when it was admitted):
    the C ``csv`` reader, several times faster than :func:`parse_upload`, which checks every rule."""
    rows: list[Row] = []
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    line = 1
    for fields in reader:
        if len(fields) == 2:
            labels = tuple(fields[0].split(delimiter)) if multi_label else (fields[0],)
            rows.append(Row(labels, fields[1], line))
            line += 1 + fields[1].count("\n")  # lines as parse_upload counts them (labels hold none)
        else:
            line += 1 + sum(field.count("\n") for field in fields)
    return rows


def stored_records(data: bytes) -> list[bytes]:
    """The records of a file :func:`to_csv` wrote, as bytes (each with its line break), without parsing
    them: a record ends at the first line break after an even number of quotes."""
    records: list[bytes] = []
    pending: list[bytes] = []
    quotes = 0
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last line break: empty in a file to_csv wrote
    for line in (*(line + b"\n" for line in lines), *([tail] if tail else [])):
        quotes += line.count(b'"')
        if quotes % 2:
            pending.append(line)  # inside a quoted field: the record goes on
            continue
        records.append(b"".join([*pending, line]) if pending else line)
        pending, quotes = [], 0
    return records


# --- trainability -----------------------------------------------------------------------------------
def check_trainable(
    label_counts: Mapping[str, int],
    *,
    multi_label: bool,
    min_per_label: int,
    min_total: int,
    documents: int | None = None,
) -> list[str]:
    """Human-readable reasons why Comprehend would refuse (or should not yet get) this dataset; [] = ok.

    ``documents`` is the number of documents; it defaults to the sum of ``label_counts``, which is exact
    in multi-class mode but over-counts in multi-label mode: pass ``len(rows)`` there.
    """
    noun, nouns = ("label", "labels") if multi_label else ("class", "classes")
    total = sum(label_counts.values()) if documents is None else documents
    if total == 0 or not label_counts:
        return ["the dataset is empty"]
    reasons: list[str] = []
    if len(label_counts) < 2:
        reasons.append(f"only one {noun} ({next(iter(label_counts))}); at least 2 are needed")
    limit = MAX_LABELS_MULTI_LABEL if multi_label else MAX_LABELS_MULTI_CLASS
    if len(label_counts) > limit:
        reasons.append(f"{len(label_counts)} {nouns}; Comprehend allows at most {limit}")
    for label, count in sorted(label_counts.items(), key=lambda item: (item[1], item[0])):
        if count < min_per_label:
            reasons.append(f"{noun} {label!r} has {count} document(s); at least {min_per_label} are needed")
    if total < min_total:
        reasons.append(f"{total} document(s) in all; at least {min_total} are needed")
    return reasons


def check_test_set(
    train_labels: Iterable[str], test_labels: Iterable[str], *, file: str = "test set"
) -> list[Problem]:
    """Problems of the fixed test set against the training labels (mappings of counts are accepted).

    Every training label must be in the test set (Comprehend rejects a TestS3Uri that lacks one); a test
    label absent from training can never be predicted and distorts the metrics, so it is reported too.
    """
    train, test = set(train_labels), set(test_labels)
    problems = [
        Problem(file, 0, "label", f"label {label!r} is in the training data but not in the test set")
        for label in sorted(train - test)
    ]
    problems += [
        Problem(file, 0, "label", f"label {label!r} is in the test set but not in the training data")
        for label in sorted(test - train)
    ]
    return problems
