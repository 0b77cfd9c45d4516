"""A small persistent resource store shared by every operation module.

Each resource is a JSON object kept in memory and written to ``<state_dir>/<kind>/<sha1(key)>.json``
(atomically: temporary file + rename) on every change, so a new service on the same ``state_dir`` finds
it again. Keys starting with ``_`` are private to the service; :func:`public` strips them for responses.
Model files live under ``<state_dir>/models/<kind>/<id>/``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

Record = dict[str, Any]


def public(record: Record) -> Record:
    """The record without its private (``_``-prefixed) keys and without ``None`` values."""
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_") and v is not None}


class ResourceStore:
    """Thread-safe, file-backed ``kind → key → record`` map."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._data: dict[str, dict[str, Record]] = {}
        self._load()

    # --- persistence ---------------------------------------------------------------------------------
    def _load(self) -> None:
        for kind_dir in sorted(p for p in self.root.iterdir() if p.is_dir() and p.name != "models"):
            records = self._data.setdefault(kind_dir.name, {})
            for file in sorted(kind_dir.glob("*.json")):
                try:
                    doc = json.loads(file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue  # a torn or foreign file: ignore it rather than refuse to start
                records[doc["key"]] = doc["record"]

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / (hashlib.sha1(key.encode("utf-8")).hexdigest() + ".json")

    def _write(self, kind: str, key: str, record: Record) -> None:
        path = self._path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"key": key, "record": record}, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)

    # --- access --------------------------------------------------------------------------------------
    @property
    def lock(self) -> threading.RLock:
        """Hold it to make a read-check-write sequence atomic."""
        return self._lock

    def kinds(self) -> list[str]:
        with self._lock:
            return sorted(self._data)

    def get(self, kind: str, key: str) -> Record | None:
        with self._lock:
            record = self._data.get(kind, {}).get(key)
            return copy.deepcopy(record) if record is not None else None

    def list(self, kind: str) -> list[Record]:
        with self._lock:
            return [copy.deepcopy(r) for r in self._data.get(kind, {}).values()]

    def put(self, kind: str, key: str, record: Record) -> Record:
        with self._lock:
            self._data.setdefault(kind, {})[key] = copy.deepcopy(record)
            self._write(kind, key, record)
            return copy.deepcopy(record)

    def update(self, kind: str, key: str, change: Callable[[Record], None] | Record) -> Record | None:
        """Apply ``change`` (a mutating function or a dict of top-level keys) and persist; None if gone."""
        with self._lock:
            record = self._data.get(kind, {}).get(key)
            if record is None:
                return None
            if callable(change):
                change(record)
            else:
                record.update(copy.deepcopy(change))
            self._write(kind, key, record)
            return copy.deepcopy(record)

    def delete(self, kind: str, key: str) -> bool:
        with self._lock:
            existed = self._data.get(kind, {}).pop(key, None) is not None
            self._path(kind, key).unlink(missing_ok=True)
            return existed

    def model_dir(self, kind: str, ident: str) -> Path:
        path = self.root / "models" / kind / ident
        path.mkdir(parents=True, exist_ok=True)
        return path
