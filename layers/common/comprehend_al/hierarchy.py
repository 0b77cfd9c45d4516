"""Nested taxonomies: labels as paths (``PARENT/CHILD``), nested models or one flat model (``TAXONOMY``).

``TAXONOMY=nested``: the default line is the *parent* model and each parent has a *child* model, the line
``c-<parent>`` (:mod:`comprehend_al.lines`), trained, evaluated and promoted by the same lifecycle. A
path-labelled upload under ``train/new/`` (and a path-labelled fixed test set ``test/classifier/test.csv``)
is split by PrepareTrainingData before anything is merged: each parent's rows go, with their child labels,
to ``train/new/c-<parent>/<same name>`` (``test/c-<parent>/classifier/test.csv``); then the upload itself
is rewritten with the parent labels, in place; the upload as it came is kept under
``train/processed/taxonomy/`` (a fixed test set: as the key's previous version, which never expires).
A row labelled with a parent alone trains the parent model only; a parent with a single child has no
child model (its child is implied).

``TAXONOMY=flat``: one model of the paths; ``/classify`` reads the parent off the path (a parent's score is
the sum of its paths' scores). The benchmark (``make bench HIERARCHY=1``) measures both on dbpedia.
A path-labelled upload (and fixed test set) is validated part by part (:func:`path_problems`) and stored
with each path as the model's class name, ``PARENT__CHILD`` (:func:`encode_class`): Comprehend is never
sent a ``/``. Class names are read back as paths (:func:`decode_class`) where they leave the lifecycle:
``/classify``, ``/feedback``'s label check (so the label buffer holds paths), the drift baseline.

``/classify`` answers ``path`` and ``levels`` (``[{level, label, score, model_version, line}]``, parent
first) in both modes.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from comprehend_al.errors import UnknownLabel
from comprehend_al.lines import CHILD_PREFIX, LineBucket

SEPARATOR = "/"
NESTED, FLAT = "nested", "flat"
CLASS_SEPARATOR = "__"  # joins the levels of a flat model's class names: PARENT__CHILD


class Level(BaseModel):
    level: str  # "parent" | "child"
    label: str
    score: float
    model_version: str | None = None
    line: str | None = None  # the model line that answered this level (None: the default line)


def split_label(label: str) -> tuple[str, str | None]:
    """``P/C`` → ``(P, C)``; ``P`` → ``(P, None)``."""
    parent, sep, child = label.partition(SEPARATOR)
    return parent, (child if sep and child else None)


def path_problems(label: str, check: Callable[[str], list[str]]) -> list[str]:
    """Why a flat taxonomy's label (``P/C``, or ``P`` alone) is refused: a part refused by ``check`` (the
    upload rules of one label), more than two levels, or a part that holds ``__`` or begins or ends with
    ``_`` (``__`` joins the levels in the model's class names, so that :func:`decode_class` is exact)."""
    parts = label.split(SEPARATOR)
    if len(parts) > 2:
        return [f"label {label!r} has {len(parts)} levels: a taxonomy path has at most 2 (PARENT/CHILD)"]
    reasons = [reason for part in parts for reason in check(part)]
    for part in parts:
        if CLASS_SEPARATOR in part or part.startswith("_") or part.endswith("_"):
            reasons.append(
                f"label {label!r}: with Taxonomy=flat a level may not contain '__' nor begin or end with "
                "'_' ('__' joins the levels in the model's class names)"
            )
    return reasons


def encode_class(label: str) -> str:
    """A flat taxonomy's label (checked by :func:`path_problems`) as the model's class name: ``P/C`` →
    ``P__C`` (``P`` alone is unchanged)."""
    return label.replace(SEPARATOR, CLASS_SEPARATOR)


def decode_class(name: str) -> str:
    """A flat model's class name as its path: ``P__C`` → ``P/C``."""
    return name.replace(CLASS_SEPARATOR, SEPARATOR)


def child_line(parent: str) -> str:
    """The line of ``parent``'s child model: ``c-`` and the parent as 1-10 characters of ``[a-z0-9-]``."""
    slug = re.sub(r"[^a-z0-9]+", "-", parent.lower()).strip("-")[:10].strip("-") or "x"
    return f"{CHILD_PREFIX}{slug}"


def flat_levels(classes: list[tuple[str, float]], version: str | None) -> list[Level]:
    """Parent and child of the best path of a flat model (a parent's score: the sum of its paths')."""
    best, best_score = classes[0]
    parent, child = split_label(best)
    parent_score = sum(score for name, score in classes if split_label(name)[0] == parent)
    levels = [Level(level="parent", label=parent, score=round(parent_score, 6), model_version=version)]
    if child is not None:
        levels.append(Level(level="child", label=child, score=best_score, model_version=version))
    return levels


def levels(
    taxonomy: str,
    classes: list[tuple[str, float]],
    version: str | None,
    serving: Callable[[str], bool],
    classify_line: Callable[[str], tuple[list[tuple[str, float]], str | None]],
) -> list[Level] | None:
    """The levels of an answer: read off a flat model's path, or (nested) the parent model's label and the
    answer of that parent's child model (a parent without a child model answers its level alone)."""
    if taxonomy == FLAT:
        return flat_levels(classes, version)
    if taxonomy != NESTED:
        return None
    parent = Level(level="parent", label=classes[0][0], score=classes[0][1], model_version=version)
    line = child_line(parent.label)
    if not serving(line):
        return [parent]
    child_classes, child_version = classify_line(line)
    label, score = child_classes[0]
    return [parent, Level(level="child", label=label, score=score, model_version=child_version, line=line)]


def corrected(prediction: dict[str, Any], labels: tuple[str, ...], known: list[str]) -> tuple[str, ...]:
    """``/feedback`` on a prediction: the row's label, per level. On a taxonomy's prediction a label may be a
    path (``P/C``), a parent alone (``P``, nested only: the parent model learns it) or a child alone (``C``:
    the parent predicted was right, ``P/C`` is stored); its parent (flat: the path) must be the model's."""
    levels = prediction.get("levels")
    if not levels or len(labels) != 1:
        return labels
    flat = any(SEPARATOR in name for name in known)  # a flat model's labels are the paths
    parents = {split_label(name)[0] for name in known}
    parent, child = split_label(labels[0])
    if child is not None:
        path = labels[0]
    elif parent in parents:
        path = parent  # a correction of the parent alone
    else:
        path = f"{levels[0]['label']}{SEPARATOR}{parent}"  # a correction of the child alone
    if not (path in known if flat else split_label(path)[0] in parents):
        raise UnknownLabel(
            f"label {labels[0]!r} is not in the model's taxonomy: {', '.join(known)}", field="label"
        )
    return (path,)


# --- splitting uploads (PrepareTrainingData) -------------------------------------------------------------
def _rows(data: bytes) -> list[list[str]] | None:
    try:
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error):
        return None  # not readable here: the default line's validation names the problem


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def split_rows(rows: list[list[str]]) -> tuple[list[list[str]], dict[str, list[list[str]]]]:
    """Parent rows (every row, its label cut to the parent) and each parent's child rows; parents with a
    single child get no child rows."""
    parents: list[list[str]] = []
    children: dict[str, list[list[str]]] = defaultdict(list)
    for row in rows:
        if len(row) < 2:
            parents.append(row)
            continue
        parent, child = split_label(row[0])
        parents.append([parent, *row[1:]])
        if child is not None:
            children[parent].append([child, *row[1:]])
    return parents, {p: r for p, r in children.items() if len({row[0] for row in r}) > 1}


def _has_paths(rows: list[list[str]]) -> bool:
    return any(len(row) >= 2 and split_label(row[0])[1] is not None for row in rows)


def split_taxonomy_uploads(deps: Any) -> list[str]:
    """With ``TAXONOMY=nested``: split each path-labelled upload of the default line and the fixed test set
    into the parent's and the child lines' (see the module); returns the keys written."""
    settings = deps.settings
    if settings.taxonomy != NESTED:
        return []
    written: list[str] = []
    test_key = f"{settings.test_prefix}classifier/test.csv"
    if deps.bucket.head(test_key) is not None:
        written += _split(deps, test_key, lambda line: f"{settings.test_prefix}{line}/classifier/test.csv")
    for info in LineBucket(deps.bucket, settings).list(settings.upload_prefix):
        name = posixpath.basename(info.key)
        if name.lower().endswith(".csv") and name != "annotations.csv":
            rest = info.key[len(settings.upload_prefix) :]
            keep = f"{settings.processed_prefix}taxonomy/{rest}"  # the path-labelled upload, as it came
            written += _split(
                deps, info.key, lambda line, rest=rest: f"{settings.upload_prefix}{line}/{rest}", keep=keep
            )
    return written


def _split(deps: Any, key: str, target: Any, *, keep: str | None = None) -> list[str]:
    rows = _rows(deps.bucket.get(key))
    if rows is None or not _has_paths(rows):
        return []
    parents, children = split_rows(rows)
    written = []
    if keep:
        deps.bucket.copy(key, keep)
    for parent, child_rows in sorted(children.items()):
        written.append(target(child_line(parent)))
        deps.bucket.put(written[-1], _csv(child_rows))
    deps.bucket.put(key, _csv(parents))  # last: a crash before it splits the same rows again, harmlessly
    return [*written, key]
