"""Entity-recognizer evaluation: read an entity-detection job's output and score it against the test set.

Conventions (those of CoNLL's ``conlleval`` and ``seqeval``): an entity counts as found only when its
document, begin offset, end offset and type all match a gold entity exactly; no partial credit.
Precision = TP / predicted, Recall = TP / gold, F1 = 2PR / (P + R); a ratio with a zero denominator is 0.
Overall figures are micro-averaged (pooled counts over all types); per-type figures use that type's
counts and cover every type seen in the gold set or the predictions. Entities are compared as sets:
a repeated identical entity counts once.

``doc_index`` of a prediction is the job output's ``Line``: the zero-based line of the test documents file.
The test set is written by :func:`comprehend_al.datasets.entities.to_files`, which has no empty lines, so
lines and dataset document indices coincide.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections import Counter
from collections.abc import Iterable
from typing import Any, NamedTuple, Protocol

from comprehend_al.errors import EvaluationFailed
from comprehend_al.models import EntityMetrics, EntityTypeMetrics
from comprehend_al.outcomes import Outcomes, from_sets


class EntityPrediction(NamedTuple):
    """One entity of an entity-detection job's output."""

    doc_index: int  # the output line's ``Line`` (zero-based line of the input documents file)
    begin: int
    end: int
    type: str
    score: float
    file: str


class EntitySpan(Protocol):
    """Anything with a document index, offsets and a type (Annotation, EntityPrediction)."""

    @property
    def doc_index(self) -> int: ...
    @property
    def begin(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def type(self) -> str: ...


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def read_entities_output(tar_gz: bytes, *, expected_lines: int | None = None) -> list[EntityPrediction]:
    """Parse the ``output.tar.gz`` of a ``StartEntitiesDetectionJob`` (one JSON object per line).

    The archive must hold exactly one regular file (Comprehend names it ``output``). Each non-blank line is
    ``{"File": str, "Line": int | "int",
    "Entities": [{"BeginOffset", "EndOffset", "Score", "Text", "Type"}]}``.
    With ``expected_lines``, every line ``0 .. expected_lines - 1`` must be present once, and no other.
    Raises :class:`EvaluationFailed` naming the member and its 1-based line on malformed content.
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_gz), mode="r:*") as archive:
            members = [m for m in archive.getmembers() if m.isfile()]
            if len(members) != 1:
                names = ", ".join(m.name for m in members) or "none"
                raise EvaluationFailed(f"expected one file in the job output archive, found: {names}")
            member = members[0]
            extracted = archive.extractfile(member)
            assert extracted is not None  # a regular file always extracts
            data = extracted.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise EvaluationFailed(f"job output is not a readable tar.gz archive: {exc}") from exc

    name = member.name
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = data.count(b"\n", 0, exc.start) + 1
        raise EvaluationFailed(f"{name}:{bad_line}: not valid UTF-8") from exc

    predictions: list[EntityPrediction] = []
    seen: dict[tuple[str, int], int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise EvaluationFailed(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise EvaluationFailed(f"{where}: expected a JSON object")
        file = record.get("File")
        line = _int(record.get("Line"))
        entities = record.get("Entities")
        if not isinstance(file, str):
            raise EvaluationFailed(f"{where}: File missing or not a string")
        if line is None or line < 0:
            raise EvaluationFailed(f"{where}: Line {record.get('Line')!r} is not a zero-based line number")
        if (file, line) in seen:
            raise EvaluationFailed(f"{where}: Line {line} of {file} already given on line {seen[file, line]}")
        seen[file, line] = number
        if expected_lines is not None and line >= expected_lines:
            raise EvaluationFailed(
                f"{where}: Line {line} is not in the test set ({expected_lines} documents)"
            )
        if not isinstance(entities, list):
            raise EvaluationFailed(f"{where}: Entities missing or not a list")
        for position, entity in enumerate(entities):
            if not isinstance(entity, dict):
                raise EvaluationFailed(f"{where}: Entities[{position}] is not an object")
            begin = _int(entity.get("BeginOffset"))
            end = _int(entity.get("EndOffset"))
            type_ = entity.get("Type")
            score = entity.get("Score", 0.0)
            if begin is None or end is None or begin < 0 or end <= begin:
                raise EvaluationFailed(
                    f"{where}: Entities[{position}] offsets {entity.get('BeginOffset')!r}, "
                    f"{entity.get('EndOffset')!r} are not a valid span"
                )
            if not isinstance(type_, str) or not type_:
                raise EvaluationFailed(f"{where}: Entities[{position}] Type missing")
            if isinstance(score, bool) or not isinstance(score, int | float):
                raise EvaluationFailed(f"{where}: Entities[{position}] Score {score!r} is not a number")
            predictions.append(EntityPrediction(line, begin, end, type_, float(score), file))

    if expected_lines is not None:
        present = {line for _, line in seen}
        missing = sorted(set(range(expected_lines)) - present)
        if missing:
            shown = ", ".join(str(m) for m in missing[:10])
            raise EvaluationFailed(
                f"{name}: {len(missing)} test document line(s) missing from the output: {shown}"
            )
        if len({file for file, _ in seen}) > 1:
            raise EvaluationFailed(f"{name}: output names several input files, the test set has one")
    return predictions


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def evaluate_entities(
    gold_annotations: Iterable[EntitySpan], predicted: Iterable[EntitySpan], *, documents: int
) -> EntityMetrics:
    """Entity-level exact-match precision, recall and F1, overall (micro) and per type.

    ``documents`` is the number of test documents; a prediction for a document outside ``0 .. documents-1``
    raises :class:`EvaluationFailed` (the output does not belong to this test set).
    """
    gold = {(a.doc_index, a.begin, a.end, a.type) for a in gold_annotations}
    pred = {(p.doc_index, p.begin, p.end, p.type) for p in predicted}
    outside = sorted({p[0] for p in pred if not 0 <= p[0] < documents})
    if outside:
        raise EvaluationFailed(
            f"predictions for document line(s) {outside[:10]} outside the test set of {documents} documents"
        )
    hits = gold & pred
    gold_by_type = Counter(g[3] for g in gold)
    pred_by_type = Counter(p[3] for p in pred)
    hits_by_type = Counter(h[3] for h in hits)
    per_type: dict[str, EntityTypeMetrics] = {}
    for type_ in sorted(set(gold_by_type) | set(pred_by_type)):
        precision = _ratio(hits_by_type[type_], pred_by_type[type_])
        recall = _ratio(hits_by_type[type_], gold_by_type[type_])
        per_type[type_] = EntityTypeMetrics(
            Precision=precision,
            Recall=recall,
            F1Score=_f1(precision, recall),
            support=gold_by_type[type_],
            predicted=pred_by_type[type_],
            true_positives=hits_by_type[type_],
        )
    precision = _ratio(len(hits), len(pred))
    recall = _ratio(len(hits), len(gold))
    return EntityMetrics(
        Precision=precision,
        Recall=recall,
        F1Score=_f1(precision, recall),
        documents=documents,
        per_type=per_type,
    )


def entity_outcomes(
    gold_annotations: Iterable[EntitySpan], predicted: Iterable[EntitySpan], *, documents: int
) -> Outcomes:
    """Per test document, the exact-match hits, false alarms and misses per entity type."""
    gold: list[set[tuple[int, int, str]]] = [set() for _ in range(documents)]
    found: list[set[tuple[int, int, str]]] = [set() for _ in range(documents)]
    for a in gold_annotations:
        gold[a.doc_index].add((a.begin, a.end, a.type))
    for p in predicted:
        if 0 <= p.doc_index < documents:
            found[p.doc_index].add((p.begin, p.end, p.type))
    return from_sets(gold, found, averaging="micro", label_of=lambda span: span[2])
