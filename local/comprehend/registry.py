"""Registries that the operation modules extend: operations, model kinds and restart hooks.

An operation module (``classifier.py`` for document classifiers, later ``recognizer.py`` for entity
recognizers) registers its handlers at import time::

    from local.comprehend.registry import operation

    @operation("CreateEntityRecognizer")
    def create_entity_recognizer(ctx: ServiceContext, request: dict[str, Any]) -> dict[str, Any]:
        ...

and, so that endpoints can serve its models, a :class:`ModelKind`::

    register_model_kind(ModelKind(resource_type="entity-recognizer", ...))

The service imports every module named in ``server.OPERATION_MODULES`` (a missing optional module is
skipped), so adding a module is enough to add its operations. Handlers see the service through
:class:`~local.comprehend.context.ServiceContext`, never the server module itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.comprehend.context import ServiceContext

Request = dict[str, Any]
Response = dict[str, Any]
Handler = Callable[[ServiceContext, Request], Response]

OPERATIONS: dict[str, Handler] = {}
"""Operation name (the part after ``Comprehend_20171127.``) → handler."""


def operation(name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` for the Comprehend operation ``name``."""

    def register(handler: Handler) -> Handler:
        OPERATIONS[name] = handler
        return handler

    return register


@dataclass(frozen=True)
class ModelKind:
    """What endpoints need to know about one kind of custom model.

    ``resource_type`` is the ARN resource type of the model (``document-classifier``);
    ``endpoint_resource_type`` that of its endpoints (``document-classifier-endpoint``).
    ``model_status(ctx, model_arn)`` returns the model's status or raises ResourceNotFoundException;
    ``load_model(ctx, model_arn)`` returns the in-memory model (the service caches it per ARN).
    """

    resource_type: str
    endpoint_resource_type: str
    model_status: Callable[[ServiceContext, str], str]
    load_model: Callable[[ServiceContext, str], Any]
    ready_statuses: tuple[str, ...] = ("TRAINED", "TRAINED_WITH_WARNING")


MODEL_KINDS: dict[str, ModelKind] = {}
"""ARN resource type of a model (``document-classifier``) → its kind."""


def register_model_kind(kind: ModelKind) -> ModelKind:
    MODEL_KINDS[kind.resource_type] = kind
    return kind


RESTART_HOOKS: list[Callable[[ServiceContext], None]] = []
"""Called once when a service starts on an existing state_dir: fail the work that was in flight."""


def on_restart(hook: Callable[[ServiceContext], None]) -> Callable[[ServiceContext], None]:
    RESTART_HOOKS.append(hook)
    return hook
