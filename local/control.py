"""The running offline stack's control port: what `aws stepfunctions start-execution` and a registry read
are on AWS, for the CLI's `batches`, `readmit`, `drop` and `rollback` (moto lives in the `serve` process).

``POST /executions`` ``{"input": {...}}`` starts an execution of the state machine with that input and
waits for it; ``GET /batches/<kind>`` and ``GET /models/<kind>`` read the registry. Loopback only.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from comprehend_al.models import ModelKind
from comprehend_al.store.registry import Registry

from local.httpserver import LocalService, Request, Resolver, Response, json_object
from local.stack import OfflineStack

app: Resolver[ControlService] = Resolver()


class ControlService(LocalService):
    thread_name = "local-control"
    request_id_header = None
    resolver = app

    def __init__(self, stack: OfflineStack) -> None:
        super().__init__()
        self.stack = stack

    @property
    def registry(self) -> Registry:
        return Registry(self.stack.outputs["RegistryTableName"])


class _BadRequest(ValueError):
    pass


@app.post("/executions")
def start_execution(service: ControlService, request: Request) -> Response:
    try:
        body = json_object(request.body, _BadRequest)
    except _BadRequest as error:
        return Response.json(HTTPStatus.BAD_REQUEST, {"error": str(error)})
    result = service.stack.operate(dict(body.get("input") or {}))
    keys = ("executionArn", "status", "output", "error", "cause")
    return Response.json(HTTPStatus.OK, {k: result.get(k) for k in keys})


@app.get("/batches/<kind>")
def batches(service: ControlService, request: Request) -> Response:
    kind = ModelKind(request.params["kind"])
    return Response.json(HTTPStatus.OK, [b.model_dump(mode="json") for b in service.registry.batches(kind)])


@app.get("/models/<kind>")
def models(service: ControlService, request: Request) -> Response:
    kind = ModelKind(request.params["kind"])
    return Response.json(HTTPStatus.OK, [m.model_dump(mode="json") for m in service.registry.models(kind)])


def start(stack: OfflineStack) -> tuple[ControlService, str]:
    service = ControlService(stack)
    return service, service.start()


def describe(result: dict[str, Any]) -> str:
    """One line for a finished execution."""
    return f"execution {result.get('status')}: {result.get('executionArn')}" + (
        f" ({result.get('cause')})" if result.get("cause") else ""
    )
