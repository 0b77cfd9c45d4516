"""Endpoints, for every model kind: CreateEndpoint, DescribeEndpoint, UpdateEndpoint, DeleteEndpoint,
ListEndpoints, and :func:`endpoint_model` for the real-time operations (ClassifyDocument, DetectEntities).

An endpoint's kind follows its model's ARN (``document-classifier/…`` → ``document-classifier-endpoint/…``)
through :data:`local.comprehend.registry.MODEL_KINDS`. Lifecycle: CREATING → IN_SERVICE | FAILED,
UPDATING → IN_SERVICE (| FAILED by fault injection), DELETING → gone. While UPDATING the endpoint keeps
serving its current model, as Comprehend does.
"""

from __future__ import annotations

import functools
from typing import Any

from local.comprehend.common import check_name, now, paginate, parse_arn, require, time_filter
from local.comprehend.context import ServiceContext
from local.comprehend.errors import (
    InvalidRequestException,
    ResourceInUseException,
    ResourceLimitExceededException,
    ResourceNotFoundException,
    ResourceUnavailableException,
)
from local.comprehend.registry import MODEL_KINDS, ModelKind, Request, Response, on_restart, operation
from local.comprehend.store import Record, public

KIND = "endpoints"
MAX_INFERENCE_UNITS = 10
SERVING_STATUSES = ("IN_SERVICE", "UPDATING")


def _model_kind(ctx: ServiceContext, model_arn: str, field: str) -> ModelKind:
    parts = parse_arn(model_arn)
    kind = MODEL_KINDS.get(parts["type"] or "")
    if kind is None or parts["region"] != ctx.region or parts["account"] != ctx.account_id:
        raise InvalidRequestException(f"{field} {model_arn} is not a custom model of this account and region")
    return kind


def _check_model_ready(ctx: ServiceContext, kind: ModelKind, model_arn: str) -> None:
    status = kind.model_status(ctx, model_arn)  # raises ResourceNotFoundException
    if status not in kind.ready_statuses:
        raise ResourceUnavailableException(
            f"Model {model_arn} is in status {status}; only a trained model can be used by an endpoint"
        )


def _get(ctx: ServiceContext, endpoint_arn: str) -> Record:
    record = ctx.store.get(KIND, endpoint_arn)
    if record is None:
        raise ResourceNotFoundException(f"Endpoint not found: {endpoint_arn}")
    return record


def _check_units(units: Any) -> int:
    if not isinstance(units, int) or units < 1:
        raise InvalidRequestException("DesiredInferenceUnits must be an integer of at least 1")
    if units > MAX_INFERENCE_UNITS:
        raise ResourceLimitExceededException(
            f"DesiredInferenceUnits {units} exceeds the limit of {MAX_INFERENCE_UNITS} inference units"
        )
    return units


def endpoints_using(ctx: ServiceContext, model_arn: str) -> list[str]:
    """ARNs of the endpoints that serve, or are being updated to serve, ``model_arn``."""
    return [
        r["EndpointArn"]
        for r in ctx.store.list(KIND)
        if model_arn in (r.get("ModelArn"), r.get("DesiredModelArn")) and r.get("Status") != "DELETING"
    ]


def endpoint_model(ctx: ServiceContext, endpoint_arn: str, model_resource_type: str) -> Any:
    """The loaded model behind an endpoint able to serve now, for the real-time operations."""
    parts = parse_arn(endpoint_arn)
    kind = MODEL_KINDS.get(model_resource_type)
    if kind is None or parts["type"] != kind.endpoint_resource_type:
        raise InvalidRequestException(f"{endpoint_arn} is not a {model_resource_type} endpoint")
    record = ctx.store.get(KIND, endpoint_arn)
    if record is None:  # the real-time operations report a missing endpoint as unavailable
        raise ResourceUnavailableException(f"Endpoint not found: {endpoint_arn}")
    if record["Status"] not in SERVING_STATUSES:
        raise ResourceUnavailableException(
            f"Endpoint {endpoint_arn} is not ready: its status is {record['Status']}"
        )
    return ctx.model(record["ModelArn"])


def _provision(ctx: ServiceContext, endpoint_arn: str, model_arn: str, units: int, updating: bool) -> None:
    """Background work of CreateEndpoint / UpdateEndpoint: load the model, then IN_SERVICE or FAILED."""
    if not ctx.pause():
        return
    failure = ctx.faults.take_endpoint_failure()
    if failure is None:
        try:
            ctx.model(model_arn)  # warm the cache so that the first ClassifyDocument is fast
        except Exception as exc:
            failure = f"Unable to load model {model_arn}: {exc}"

    def finish(record: Record) -> None:
        record["LastModifiedTime"] = now()
        if failure is not None:
            record["Status"] = "FAILED"
            record["Message"] = failure
            record["CurrentInferenceUnits"] = record.get("CurrentInferenceUnits", 0) if updating else 0
            return
        record["Status"] = "IN_SERVICE"
        record.pop("Message", None)
        record["ModelArn"] = model_arn
        record["DesiredModelArn"] = model_arn
        record["CurrentInferenceUnits"] = units
        record["DesiredInferenceUnits"] = units

    ctx.store.update(KIND, endpoint_arn, finish)


@operation("CreateEndpoint")
def create_endpoint(ctx: ServiceContext, request: Request) -> Response:
    name = check_name(require(request, "EndpointName"), "endpointName", max_length=40)
    model_arn = request.get("ModelArn")
    if not model_arn:
        raise InvalidRequestException(
            "ModelArn is required (flywheels are not supported by the local service)"
        )
    units = _check_units(request.get("DesiredInferenceUnits"))
    kind = _model_kind(ctx, model_arn, "ModelArn")
    _check_model_ready(ctx, kind, model_arn)
    endpoint_arn = ctx.arn(kind.endpoint_resource_type, name)
    token = request.get("ClientRequestToken")
    with ctx.store.lock:
        existing = ctx.store.get(KIND, endpoint_arn)
        if existing is not None:
            if token and existing.get("_token") == token:
                return {"EndpointArn": endpoint_arn, "ModelArn": existing["ModelArn"]}
            raise ResourceInUseException(f"Endpoint {name} already exists: {endpoint_arn}")
        timestamp = now()
        ctx.store.put(
            KIND,
            endpoint_arn,
            {
                "EndpointArn": endpoint_arn,
                "Status": "CREATING",
                "ModelArn": model_arn,
                "DesiredModelArn": model_arn,
                "DesiredInferenceUnits": units,
                "CurrentInferenceUnits": 0,
                "CreationTime": timestamp,
                "LastModifiedTime": timestamp,
                "DataAccessRoleArn": request.get("DataAccessRoleArn"),
                "_token": token,
                "_tags": request.get("Tags", []),
            },
        )
    ctx.submit(lambda: _provision(ctx, endpoint_arn, model_arn, units, updating=False))
    return {"EndpointArn": endpoint_arn, "ModelArn": model_arn}


@operation("DescribeEndpoint")
def describe_endpoint(ctx: ServiceContext, request: Request) -> Response:
    return {"EndpointProperties": public(_get(ctx, require(request, "EndpointArn")))}


@operation("UpdateEndpoint")
def update_endpoint(ctx: ServiceContext, request: Request) -> Response:
    endpoint_arn = require(request, "EndpointArn")
    with ctx.store.lock:
        record = _get(ctx, endpoint_arn)
        if record["Status"] != "IN_SERVICE":
            raise ResourceInUseException(
                f"Endpoint {endpoint_arn} cannot be updated while its status is {record['Status']}"
            )
        model_arn = request.get("DesiredModelArn") or record["ModelArn"]
        units = _check_units(request.get("DesiredInferenceUnits", record["DesiredInferenceUnits"]))
        kind = _model_kind(ctx, model_arn, "DesiredModelArn")
        if kind.endpoint_resource_type != parse_arn(endpoint_arn)["type"]:
            raise InvalidRequestException(f"Model {model_arn} cannot be served by endpoint {endpoint_arn}")
        _check_model_ready(ctx, kind, model_arn)
        ctx.store.update(
            KIND,
            endpoint_arn,
            {
                "Status": "UPDATING",
                "DesiredModelArn": model_arn,
                "DesiredInferenceUnits": units,
                "LastModifiedTime": now(),
            },
        )
    ctx.submit(lambda: _provision(ctx, endpoint_arn, model_arn, units, updating=True))
    return {"DesiredModelArn": model_arn}


def _remove(ctx: ServiceContext, endpoint_arn: str) -> None:
    ctx.pause()
    ctx.store.delete(KIND, endpoint_arn)


@operation("DeleteEndpoint")
def delete_endpoint(ctx: ServiceContext, request: Request) -> Response:
    endpoint_arn = require(request, "EndpointArn")
    with ctx.store.lock:
        record = _get(ctx, endpoint_arn)
        if record["Status"] in ("CREATING", "UPDATING"):
            raise ResourceInUseException(
                f"Endpoint {endpoint_arn} cannot be deleted while its status is {record['Status']}"
            )
        if record["Status"] == "DELETING":
            return {}
        ctx.store.update(KIND, endpoint_arn, {"Status": "DELETING", "LastModifiedTime": now()})
    ctx.submit(lambda: _remove(ctx, endpoint_arn))
    return {}


@operation("ListEndpoints")
def list_endpoints(ctx: ServiceContext, request: Request) -> Response:
    flt = request.get("Filter") or {}
    records = sorted(ctx.store.list(KIND), key=lambda r: (r["CreationTime"], r["EndpointArn"]))
    selected = [
        public(r)
        for r in records
        if (not flt.get("ModelArn") or r.get("ModelArn") == flt["ModelArn"])
        and (not flt.get("Status") or r["Status"] == flt["Status"])
        and time_filter(r["CreationTime"], flt.get("CreationTimeBefore"), flt.get("CreationTimeAfter"))
    ]
    page, token = paginate(selected, request)
    response: Response = {"EndpointPropertiesList": page}
    if token:
        response["NextToken"] = token
    return response


def _warm(ctx: ServiceContext, model_arn: str) -> None:
    ctx.model(model_arn)


@on_restart
def _recover_endpoints(ctx: ServiceContext) -> None:
    """Endpoints caught CREATING / UPDATING by a restart end FAILED; DELETING ones are gone; the models
    of those IN_SERVICE are loaded in the background, so that the first real-time call is fast."""
    for record in ctx.store.list(KIND):
        arn, status = record["EndpointArn"], record["Status"]
        if status == "IN_SERVICE":
            ctx.submit(functools.partial(_warm, ctx, str(record["ModelArn"])))
        elif status == "DELETING":
            ctx.store.delete(KIND, arn)
        elif status in ("CREATING", "UPDATING"):
            ctx.store.update(
                KIND,
                arn,
                {
                    "Status": "FAILED",
                    "Message": f"The local Comprehend service restarted while the endpoint was {status}",
                    "LastModifiedTime": now(),
                },
            )
