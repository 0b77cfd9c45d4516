"""The audit log: every action on an annotation (who, when, what changed), one S3 object per action.

Actions: ``annotated`` (a worker's answer), ``agreed`` / ``disputed`` / ``held`` (consolidation's verdict
on a document), ``adjudicated`` (the adjudicator's final spans), ``batched`` (the document left in a
training batch). Each record names the loop, the item, the worker and the spans before and after, so the
lineage of a batch (``annotation/batches/<batch>.json``) reaches the people who labelled each document.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from comprehend_al.annotation.store import AUDIT, Objects, keys, read_json, safe_part, write_json


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class AuditEvent:
    action: str
    loop: str
    item: str
    worker: str
    at: str = field(default_factory=now_iso)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AuditLog:
    def __init__(self, objects: Objects) -> None:
        self.objects = objects

    def record(self, event: AuditEvent) -> str:
        stamp = event.at.replace(":", "").replace("-", "").replace("+0000", "Z")
        key = (
            f"{AUDIT}{safe_part(event.loop)}/{stamp}-{uuid.uuid4().hex[:8]}-{safe_part(event.action)}-"
            f"{safe_part(event.worker)}.json"
        )
        write_json(self.objects, key, event.as_dict())
        return key

    def events(self, loop: str | None = None) -> list[dict[str, Any]]:
        """The audited actions (of one loop, or all), oldest first."""
        prefix = f"{AUDIT}{safe_part(loop)}/" if loop else AUDIT
        found = [read_json(self.objects, key) for key in keys(self.objects, prefix)]
        return sorted((e for e in found if e), key=lambda e: (e["at"], e["action"]))

    def history(self, item: str) -> list[dict[str, Any]]:
        """Every action on one item, across loops (its annotation and its adjudication)."""
        return [event for event in self.events() if event["item"] == item]
