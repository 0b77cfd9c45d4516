"""What operation handlers, model kinds and restart hooks may use of the service: :class:`ServiceContext`.

The registry and the operation modules depend on this interface only; :class:`~local.comprehend.server.
ComprehendService` implements it (mypy checks that where the server hands itself to a handler). So the
server imports the registry, and nothing that the registry or the operation modules import needs the server.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

from local.comprehend.faults import Faults
from local.comprehend.store import ResourceStore


class ServiceContext(Protocol):
    """The running service as a handler sees it."""

    region: str
    account_id: str
    min_docs_per_label: int
    """The fewest training documents a label may have."""
    max_text_bytes: int
    """The largest ``Text`` a real-time classification accepts (UTF-8 bytes)."""
    store: ResourceStore
    faults: Faults

    @property
    def s3(self) -> Any:
        """The boto3 S3 client that reads training data and writes outputs."""

    def arn(self, resource_type: str, name: str, version: str | None = None) -> str:
        """``arn:aws:comprehend:<region>:<account>:<resource_type>/<name>[/version/<version>]``."""
        ...

    def submit(self, work: Callable[[], None], *, training: bool = False) -> Future[None]:
        """Run ``work`` on a background thread (the training pool when ``training``)."""
        ...

    def pause(self) -> bool:
        """Wait between two states of asynchronous work; False when the service is stopping."""
        ...

    def model(self, model_arn: str) -> Any:
        """The in-memory model for ``model_arn``, loaded once through its kind."""
        ...

    def forget_model(self, model_arn: str) -> None:
        """Drop the in-memory model of ``model_arn`` (deleted or replaced)."""
        ...
