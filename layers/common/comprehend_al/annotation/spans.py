"""Entity spans of an annotation answer: parsed from untrusted input and checked against the document.

An answer is a list of ``{"BeginOffset": int, "EndOffset": int, "Type": str}``: zero-based character
offsets (code points, end exclusive) into the item's text, the form Comprehend's DetectEntities returns
and its annotations CSV stores. :func:`parse_spans` refuses, with a message naming the item, the span and
the field, anything the recognizer could not train on: offsets that are not integers, outside the text,
empty or whitespace-only spans, overlapping spans, and a type outside the loop's ``types``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any, NamedTuple

from comprehend_al.datasets.entities import TYPE_PATTERN
from comprehend_al.errors import InvalidRequest


class Span(NamedTuple):
    """One entity: character offsets into the document (end exclusive) and its type."""

    begin: int
    end: int
    type: str

    def as_json(self) -> dict[str, Any]:
        return {"BeginOffset": self.begin, "EndOffset": self.end, "Type": self.type}


def _offset(value: Any, where: str, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{where}: {field} must be an integer, got {value!r}")
    return value


def parse_spans(raw: Any, text: str, types: Iterable[str] | None = None, *, item: str = "item") -> list[Span]:
    """The spans of one item's answer, sorted, each checked against ``text`` and ``types``."""
    if not isinstance(raw, list):
        raise InvalidRequest(f"{item}: the answer must be a list of spans, got {type(raw).__name__}")
    allowed = set(types) if types is not None else None
    spans: list[Span] = []
    for number, entry in enumerate(raw, 1):
        where = f"{item}, span {number}"
        if not isinstance(entry, dict):
            raise InvalidRequest(f"{where}: a span must be an object with BeginOffset, EndOffset, Type")
        begin = _offset(entry.get("BeginOffset"), where, "BeginOffset")
        end = _offset(entry.get("EndOffset"), where, "EndOffset")
        kind = entry.get("Type")
        if not isinstance(kind, str) or not TYPE_PATTERN.match(kind):
            raise InvalidRequest(f"{where}: Type must be an UPPER_SNAKE entity type, got {kind!r}")
        if allowed is not None and kind not in allowed:
            raise InvalidRequest(f"{where}: Type {kind!r} is not one of the loop's types {sorted(allowed)}")
        if not 0 <= begin < end <= len(text):
            raise InvalidRequest(
                f"{where}: offsets {begin}-{end} are not a non-empty range inside the text (0-{len(text)})"
            )
        if not text[begin:end].strip():
            raise InvalidRequest(f"{where}: span {begin}-{end} holds only whitespace")
        spans.append(Span(begin, end, kind))
    spans.sort()
    for before, after in pairwise(spans):
        if after.begin < before.end:
            raise InvalidRequest(
                f"{item}: spans {before.begin}-{before.end} and {after.begin}-{after.end} overlap"
            )
    if len(set(spans)) != len(spans):
        raise InvalidRequest(f"{item}: the same span is given twice")
    return spans


def spans_json(spans: Sequence[Span]) -> list[dict[str, Any]]:
    return [span.as_json() for span in spans]


def entity_items(document: Any) -> dict[str, dict[str, Any]]:
    """The items of an entity (or adjudication) loop input by id: ``{"id": {"text", "entities", ...}}``."""
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        return {}
    return {str(item["id"]): item for item in items if isinstance(item, dict) and "id" in item}


def parse_answers(answers: Any, document: dict[str, Any]) -> dict[str, list[Span]]:
    """One worker's answer to an entity loop: every item answered, every span checked (InvalidRequest)."""
    if not isinstance(answers, dict):
        raise InvalidRequest("the answer must map each item id to its list of spans")
    items = entity_items(document)
    types = document.get("types")
    allowed = [str(t) for t in types] if isinstance(types, list) and types else None
    unknown = [key for key in answers if key not in items]
    if unknown:
        raise InvalidRequest(f"no item {unknown[0]!r} in this loop")
    missing = [item_id for item_id in items if item_id not in answers]
    if missing:
        raise InvalidRequest(f"no answer for item(s) {', '.join(missing)} (an empty list means no entities)")
    return {
        item_id: parse_spans(
            answers[item_id], str(items[item_id].get("text", "")), allowed, item=f"item {item_id}"
        )
        for item_id in items
    }
