"""The active model of each kind: the one owner of its SSM key, its reads, its promotion and restore.

Clients (``/classify``, ``/analyze``, the CLI) and the lifecycle read the active model and endpoint only
through :class:`Pointers`. One parameter per kind, under the stack's ``PARAMETER_PREFIX``:

* ``<kind>/active``: ``{"model_arn": ..., "endpoint_arn": ...}``: the model version in service and the
  endpoint that serves it, written in one ``PutParameter`` so that they change together (a client never
  reads an endpoint beside a model it does not serve).

Stacks from before this format kept the pair in two parameters (``<kind>/active-model-arn`` and
``<kind>/active-endpoint-arn``); they are read only while ``<kind>/active`` does not exist yet, and the
first promotion or restore writes the new one.

A named model line (:mod:`comprehend_al.lines`: a language, a taxonomy's child model) has its own pointer,
``<kind>/lines/<line>/active``; the default line (``""``) keeps ``<kind>/active``. ``Pointers(..., line=)``
reads and writes one line's; :meth:`Pointers.for_line` gives another line's over the same store.

The request path reads through a cached source (Powertools ``parameters`` with ``max_age``; ``fresh``
refetches once when an endpoint vanished under a cached ARN); the workflow reads and writes uncached.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from comprehend_al.errors import ResourceNotFound
from comprehend_al.models import ModelKind

ACTIVE = "active"
ACTIVE_MODEL = "active-model-arn"  # the two-parameter format of earlier stacks (read only)
ACTIVE_ENDPOINT = "active-endpoint-arn"


def version_of_arn(model_arn: str) -> str:
    """``…/version/<v>`` → ``<v>`` (our models are always versioned)."""
    marker = "/version/"
    if marker not in model_arn:
        raise ResourceNotFound(f"model ARN has no version: {model_arn}")
    return model_arn.rsplit(marker, 1)[1]


@dataclass(frozen=True)
class Active:
    """What serves one kind: the endpoint and its model (either may be absent)."""

    model_arn: str | None = None
    endpoint_arn: str | None = None

    def to_json(self) -> str:
        return json.dumps({"model_arn": self.model_arn, "endpoint_arn": self.endpoint_arn}, sort_keys=True)

    @classmethod
    def from_json(cls, value: str) -> Active:
        """The parameter's value; anything that is not the JSON object reads as nothing active."""
        try:
            data = json.loads(value)
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        model, endpoint = data.get("model_arn"), data.get("endpoint_arn")
        return cls(
            model if isinstance(model, str) and model else None,
            endpoint if isinstance(endpoint, str) and endpoint else None,
        )

    @property
    def serving(self) -> bool:
        return bool(self.model_arn and self.endpoint_arn)

    @property
    def version(self) -> str | None:
        """The active model's version, or ``None`` (no model, or an ARN without a version)."""
        try:
            return version_of_arn(self.model_arn) if self.model_arn else None
        except ResourceNotFound:
            return None


class ParameterSource(Protocol):
    def get(self, relative: str, *, force: bool = False) -> str | None:
        """The value of ``<prefix>/<relative>``, or ``None`` when it does not exist."""
        ...


class ParameterSink(Protocol):
    def put(self, relative: str, value: str, *, description: str = "") -> None: ...


class Pointers:
    def __init__(self, source: ParameterSource, sink: ParameterSink | None = None, *, line: str = "") -> None:
        self.source = source
        self.sink = sink
        self.line = line

    def for_line(self, line: str) -> Pointers:
        """The pointers of another model line, over the same parameters."""
        return Pointers(self.source, self.sink, line=line)

    @staticmethod
    def key(kind: ModelKind, which: str = ACTIVE, *, line: str = "") -> str:
        """The parameter name of a pointer, relative to the stack's prefix (a line's: under ``lines/``)."""
        return f"{kind.value}/lines/{line}/{which}" if line else f"{kind.value}/{which}"

    def read(self, kind: ModelKind, *, fresh: bool = False) -> Active:
        """What serves ``kind`` (both parts from one parameter read)."""
        value = self.source.get(self.key(kind, line=self.line), force=fresh)
        if value is not None:
            return Active.from_json(value)
        if self.line:
            return Active()  # lines came after the one-parameter format
        return Active(  # a stack from before the one-parameter format
            self.source.get(self.key(kind, ACTIVE_MODEL), force=fresh),
            self.source.get(self.key(kind, ACTIVE_ENDPOINT), force=fresh),
        )

    def model_arn(self, kind: ModelKind, *, fresh: bool = False) -> str | None:
        return self.read(kind, fresh=fresh).model_arn

    def endpoint_arn(self, kind: ModelKind, *, fresh: bool = False) -> str | None:
        return self.read(kind, fresh=fresh).endpoint_arn

    def promote(self, kind: ModelKind, new: Active, *, description: str) -> Active:
        """Point ``kind`` at ``new`` in one write; returns what it pointed at before."""
        previous = self.read(kind, fresh=True)
        self._write(kind, new, description)
        return previous

    def restore(self, kind: ModelKind, previous: Active, *, description: str = "restored") -> None:
        """Put back what :meth:`promote` returned (nothing active is written as an empty pointer)."""
        self._write(kind, previous, description)

    def _write(self, kind: ModelKind, active: Active, description: str) -> None:
        if self.sink is None:
            raise RuntimeError("these pointers are read-only")
        self.sink.put(self.key(kind, line=self.line), active.to_json(), description=description)


class PrefixedStore:
    """A full-name parameter store (``get(name)`` / ``put(name, value)``) seen under a prefix."""

    def __init__(self, prefix: str, store: FullNameStore) -> None:
        self.prefix = prefix.rstrip("/")
        self.store = store

    def get(self, relative: str, *, force: bool = False) -> str | None:
        return self.store.get(f"{self.prefix}/{relative}")

    def put(self, relative: str, value: str, *, description: str = "") -> None:
        self.store.put(f"{self.prefix}/{relative}", value, description=description)


class FullNameStore(Protocol):
    def get(self, name: str) -> str | None: ...

    def put(self, name: str, value: str, *, description: str = "") -> None: ...
