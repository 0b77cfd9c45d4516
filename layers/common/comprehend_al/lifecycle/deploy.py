"""StartEndpoint, GetEndpointStatus, PromoteModel, DeleteEndpoint: put the winner into service."""

from __future__ import annotations

from typing import Any

from comprehend_al.errors import (
    EndpointFailed,
    ResourceInUse,
)
from comprehend_al.kinds import spec
from comprehend_al.lifecycle.deps import (
    Deps,
    champion,
    next_attempt,
    suffix,
)
from comprehend_al.lifecycle.lineage import settle
from comprehend_al.models import BatchStatus, ModelKind, ModelStatus
from comprehend_al.observability import logger
from comprehend_al.pointers import Active, version_of_arn
from comprehend_al.settings import DeploymentStrategy, Settings
from comprehend_al.state import (
    EndpointState,
    ModelState,
    Promotion,
    Run,
)


def endpoint_name(settings: Settings, kind: ModelKind, version: str) -> str:
    """Comprehend endpoint names: ≤ 40 characters of ``[a-zA-Z0-9-]``, no leading/trailing dash."""
    short = spec(kind).short
    compact = version.lstrip("v").replace("-", "")
    if settings.line:  # a model line's (comprehend_al.lines): its name and a digest of the version
        compact = f"{settings.line}-{suffix(settings.line, version)}{compact[-4:]}"
    return f"{settings.resource_prefix[:14]}-{short}-{compact}"[:40].strip("-")


def start_endpoint(run: Run, model: ModelState, deps: Deps) -> EndpointState:
    settings, comprehend = deps.settings, deps.comprehend
    active_endpoint = deps.pointers.endpoint_arn(run.kind)
    active = champion(run.kind, deps)
    if settings.deployment_strategy is DeploymentStrategy.UPDATE_IN_PLACE and active_endpoint:
        comprehend.update_endpoint(endpoint_arn=active_endpoint, model_arn=model.model_arn)
        return EndpointState(
            endpoint_arn=active_endpoint,
            model_arn=model.model_arn,
            strategy="UPDATE_IN_PLACE",
            created=False,
            previous_endpoint_arn=active_endpoint,
            previous_model_arn=active[0] if active else None,
            status="UPDATING",
        )
    name = endpoint_name(settings, run.kind, run.version)
    try:
        arn = comprehend.create_endpoint(
            name=name,
            model_arn=model.model_arn,
            units=settings.inference_units,
            tags={"model-version": run.version, "managed-by": settings.resource_prefix},
        )
    except ResourceInUse:
        # a retry after the create succeeded: adopt the endpoint that attempt made for this model
        existing = comprehend.find_endpoint(name)
        if existing is None or existing.model_arn != model.model_arn:
            raise
        logger.info("endpoint created by an earlier attempt: adopted", extra={"endpoint_arn": existing.arn})
        arn = existing.arn
    deps.registry.update_model(run.kind, run.version, endpoint_arn=arn)
    return EndpointState(
        endpoint_arn=arn,
        model_arn=model.model_arn,
        strategy="NEW_ENDPOINT",
        created=True,
        previous_endpoint_arn=active_endpoint,
        previous_model_arn=active[0] if active else None,
    )


def get_endpoint_status(run: Run, endpoint: EndpointState, deps: Deps) -> EndpointState:
    status = deps.comprehend.describe_endpoint(endpoint.endpoint_arn)
    if status.failed:
        raise EndpointFailed(f"{endpoint.endpoint_arn}: FAILED: {status.message}")
    if status.done and status.model_arn == endpoint.model_arn:
        return endpoint.model_copy(update={"status": status.status, "done": True})
    attempt = next_attempt(endpoint.attempt, deps, f"endpoint {endpoint.endpoint_arn}")
    return endpoint.model_copy(update={"status": status.status, "attempt": attempt})


def promote_model(run: Run, model: ModelState, endpoint: EndpointState, deps: Deps) -> Promotion:
    """Point SSM at the new model and endpoint (one write), and record it in the registry.

    Idempotent: what is replaced is what StartEndpoint saw in service (the kind's lock keeps it so), not
    what the pointer says now, so a retry after the pointer was written still retires and deletes the
    right things. Every other ``active`` version of the kind is retired: one active version, always.
    """
    new = Active(model.model_arn, endpoint.endpoint_arn)
    if deps.pointers.read(run.kind, fresh=True) != new:
        deps.pointers.promote(
            run.kind, new, description=f"{run.kind.value} {run.version}, dataset {run.dataset.version}"
        )
    previous_model, previous_endpoint = endpoint.previous_model_arn, endpoint.previous_endpoint_arn
    deps.registry.update_model(
        run.kind,
        run.version,
        status=ModelStatus.ACTIVE.value,
        endpoint_arn=endpoint.endpoint_arn,
        promoted_at=deps.clock().isoformat(),
    )
    deps.registry.mark_active_dataset(run.kind, run.dataset.version)
    settle(
        run.kind,
        deps,
        run.dataset.version,
        BatchStatus.ACCEPTED,
        f"{run.version} promoted",
        model_version=run.version,
    )
    retire_others(run.kind, run.version, deps)
    to_delete = None
    if endpoint.created and previous_endpoint and previous_endpoint != endpoint.endpoint_arn:
        to_delete = previous_endpoint
    logger.info(
        "promoted",
        extra={
            "kind": run.kind.value,
            "model_version": run.version,
            "endpoint_arn": endpoint.endpoint_arn,
            "retiring_endpoint": to_delete,
        },
    )
    return Promotion(
        model_arn=model.model_arn,
        endpoint_arn=endpoint.endpoint_arn,
        previous_model_arn=previous_model,
        previous_endpoint_arn=previous_endpoint,
        endpoint_to_delete=to_delete,
    )


def delete_old_endpoint(run: Run, promotion: Promotion, deps: Deps) -> dict[str, Any]:
    if not promotion.endpoint_to_delete:
        return {"deleted": None}
    deleted = deps.comprehend.delete_endpoint(promotion.endpoint_to_delete)
    if promotion.previous_model_arn:
        old_version = version_of_arn(promotion.previous_model_arn)
        if deps.registry.model(run.kind, old_version) is not None:
            deps.registry.update_model(run.kind, old_version, endpoint_arn=None)
    return {"deleted": promotion.endpoint_to_delete, "existed": deleted}


def retire_others(kind: ModelKind, version: str, deps: Deps) -> None:
    """Every other ``active`` version of ``kind`` becomes ``retired``: one active version, always."""
    for other in deps.registry.models(kind):
        if other.version != version and other.status == ModelStatus.ACTIVE.value:
            deps.registry.set_status(kind, other.version, ModelStatus.RETIRED, f"replaced by {version}")
