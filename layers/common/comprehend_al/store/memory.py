"""An in-memory registry with the behaviour of :class:`~comprehend_al.store.registry.Registry`.

For unit tests of logic that reads and writes the registry (reconciliation, lineage, rollback) without
moto: the same :class:`~comprehend_al.store.registry.RegistryBase` over a dict, with the same lock
semantics (expiry, re-entrant for its holder). ``tests/unit/test_registry_store.py`` runs the same
scenarios against both, so the twin cannot drift from the table.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from comprehend_al.models import ModelKind
from comprehend_al.store.dynamo import from_dynamo, now_iso, to_dynamo
from comprehend_al.store.registry import RegistryBase


class InMemoryRegistry(RegistryBase):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.clock = clock

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.items.get((pk, sk))
        return copy.deepcopy(item) if item else None

    def _put(self, pk: str, sk: str, values: dict[str, Any]) -> None:
        self.items[(pk, sk)] = from_dynamo(to_dynamo({"pk": pk, "sk": sk, **values}))

    def _update(self, pk: str, sk: str, values: dict[str, Any]) -> None:
        item = self.items.setdefault((pk, sk), {"pk": pk, "sk": sk})
        item.update(from_dynamo(to_dynamo({**values, "updated_at": now_iso()})))

    def _query(self, pk: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(v) for (p, _), v in sorted(self.items.items()) if p == pk]

    def _now(self) -> float:
        return self.clock()

    def acquire_lock(self, kind: ModelKind, holder: str, *, seconds: int) -> bool:
        now = int(self.clock())
        current = self.items.get((f"LOCK#{kind.value}", "LOCK"))
        if current and current["expires_at"] >= now and current["holder"] != holder:
            return False
        values = {"holder": holder, "expires_at": now + seconds, "acquired_at": now_iso()}
        self._put(f"LOCK#{kind.value}", "LOCK", values)
        return True

    def release_lock(self, kind: ModelKind, holder: str) -> None:
        current = self.items.get((f"LOCK#{kind.value}", "LOCK"))
        if current and current["holder"] == holder:
            del self.items[(f"LOCK#{kind.value}", "LOCK")]
