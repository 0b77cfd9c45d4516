"""Human loops as JSON files under ``<state_dir>/human-loops/``: one file per loop, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
STOPPED = "Stopped"
STOPPING = "Stopping"
FAILED = "Failed"


def utc_now() -> datetime:
    """Now, in UTC, at millisecond precision (what A2I reports)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def iso_ms(moment: datetime) -> str:
    """``2019-11-14T17:37:36.740Z``: the timestamp form of A2I's API, events and output files."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class HumanLoop:
    """One human loop, as stored (times as ISO 8601 strings in UTC)."""

    name: str
    arn: str
    flow_definition_arn: str
    input_content: str
    creation_time: str
    status: str = IN_PROGRESS
    data_attributes: dict[str, Any] | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    output_s3_uri: str | None = None
    updated_time: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def created(self) -> datetime:
        return parse_iso(self.creation_time)

    @property
    def flow_name(self) -> str:
        return self.flow_definition_arn.rsplit("flow-definition/", 1)[-1]

    def input_document(self) -> Any:
        """``InputContent`` parsed (it was checked to be JSON when the loop started)."""
        return json.loads(self.input_content)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HumanLoop:
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})


class LoopStore:
    """The loops of one service, in memory and on disk; every method is thread-safe."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "human-loops"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._loops: dict[str, HumanLoop] = {}
        for path in sorted(self.directory.glob("*.json")):
            loop = HumanLoop.from_json(json.loads(path.read_text(encoding="utf-8")))
            if loop.status == STOPPING:  # a stop cut short by a restart finishes now
                loop.status = STOPPED
            self._loops[loop.name] = loop

    def get(self, name: str) -> HumanLoop | None:
        with self.lock:
            return self._loops.get(name)

    def all(self) -> list[HumanLoop]:
        with self.lock:
            return list(self._loops.values())

    def put(self, loop: HumanLoop) -> None:
        with self.lock:
            self._write(loop)
            self._loops[loop.name] = loop

    def delete(self, name: str) -> None:
        with self.lock:
            self._loops.pop(name, None)
            (self.directory / f"{name}.json").unlink(missing_ok=True)

    def _write(self, loop: HumanLoop) -> None:
        data = json.dumps(loop.to_json(), indent=1, sort_keys=True).encode("utf-8")
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, self.directory / f"{loop.name}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
