"""The active model of each kind: the one owner of its SSM keys, its reads, its promotion and restore.

Clients (``/classify``, ``/analyze``, the CLI) and the lifecycle read the active model and endpoint only
through :class:`Pointers`. Keys, under the stack's ``PARAMETER_PREFIX``:

* ``<kind>/active-endpoint-arn``: the endpoint that serves the kind;
* ``<kind>/active-model-arn``: the model version that endpoint serves.

The request path reads through a cached source (Powertools ``parameters`` with ``max_age``; ``fresh``
refetches once when an endpoint vanished under a cached ARN); the workflow reads and writes uncached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from comprehend_al.errors import ResourceNotFound
from comprehend_al.models import ModelKind

ACTIVE_MODEL = "active-model-arn"
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
    def __init__(self, source: ParameterSource, sink: ParameterSink | None = None) -> None:
        self.source = source
        self.sink = sink

    @staticmethod
    def key(kind: ModelKind, which: str = ACTIVE_ENDPOINT) -> str:
        """The parameter name of a pointer, relative to the stack's prefix."""
        return f"{kind.value}/{which}"

    def model_arn(self, kind: ModelKind, *, fresh: bool = False) -> str | None:
        return self.source.get(self.key(kind, ACTIVE_MODEL), force=fresh)

    def endpoint_arn(self, kind: ModelKind, *, fresh: bool = False) -> str | None:
        return self.source.get(self.key(kind, ACTIVE_ENDPOINT), force=fresh)

    def read(self, kind: ModelKind, *, fresh: bool = False) -> Active:
        return Active(self.model_arn(kind, fresh=fresh), self.endpoint_arn(kind, fresh=fresh))

    def promote(self, kind: ModelKind, new: Active, *, description: str) -> Active:
        """Point ``kind`` at ``new`` (endpoint first, then model); returns what it pointed at before."""
        if self.sink is None:
            raise RuntimeError("these pointers are read-only")
        previous = self.read(kind, fresh=True)
        self.sink.put(
            self.key(kind, ACTIVE_ENDPOINT), str(new.endpoint_arn), description=f"endpoint of {description}"
        )
        self.sink.put(self.key(kind, ACTIVE_MODEL), str(new.model_arn), description=description)
        return previous

    def restore(self, kind: ModelKind, previous: Active, *, description: str = "restored") -> None:
        """Put back what :meth:`promote` returned (``none`` where nothing was active)."""
        if self.sink is None:
            raise RuntimeError("these pointers are read-only")
        self.sink.put(
            self.key(kind, ACTIVE_ENDPOINT), previous.endpoint_arn or "none", description=description
        )
        self.sink.put(self.key(kind, ACTIVE_MODEL), previous.model_arn or "none", description=description)


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
