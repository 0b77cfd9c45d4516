"""A local stand-in for the stack's HTTP API (API Gateway, payload format 2.0), on loopback.

Routes come from the template (each function's ``HttpApi`` events); a request becomes the event API
Gateway delivers and runs the real handler through the offline stack's Lambda router. IAM (SigV4)
authorization is not checked here: the template's authorizer is exercised on AWS only.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

from local.httpserver import LocalService, Request, Resolver, Response
from local.stack import ACCOUNT, LambdaRouter

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


def routes(template: dict[str, Any]) -> dict[str, str]:
    """``{"POST /classify": "ClassifyFunction", ...}`` from the functions' HttpApi events."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                found[f"{props['Method'].upper()} {props['Path']}"] = logical_id
    return found


def http_event(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The API Gateway HTTP API (v2) event for one request."""
    now = datetime.now(UTC)
    route = f"{method} {path}"
    return {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "offline",
            "domainName": headers.get("Host", "127.0.0.1"),
            "domainPrefix": "offline",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("User-Agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        **_payload(body),
    }


def _payload(body: bytes) -> dict[str, Any]:
    """The body as text when it is UTF-8, else base64-encoded (flagged): the handler gets the exact bytes."""
    try:
        return {"body": body.decode("utf-8"), "isBase64Encoded": False}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}


class LocalHttpApi(LocalService):
    """The template's HTTP API on loopback: one route per ``HttpApi`` event, each invoking its function."""

    thread_name = "local-http-api"
    request_id_header = None  # the function's answer as API Gateway relays it, headers and all

    def __init__(self, template: dict[str, Any], router: LambdaRouter) -> None:
        super().__init__()
        self.routes = routes(template)
        self.router = router
        self.resolver: Resolver[LocalHttpApi] = Resolver(
            not_found=_not_found, not_found_methods=("GET", "POST")
        )
        for route_key, function in self.routes.items():
            method, path = route_key.split(" ", 1)
            self.resolver.route(path, method, name=function)(partial(_invoke, function=function))

    def invoke(self, function: str, request: Request) -> Response:
        """Run ``function`` with the API Gateway event of ``request``; its answer as API Gateway gives it."""
        if request.content_length > MAX_BODY_BYTES:
            return Response.json(413, {"message": "Request Entity Too Large"})
        headers = dict(request.headers.items())
        event = http_event(request.method, request.path, request.query, headers, request.body)
        result, error = self.router.invoke(function, event)
        if error:  # what API Gateway answers when the integration fails
            return Response.json(500, {"message": "Internal Server Error"})
        body = result.get("body", "")
        answer_headers = dict(result.get("headers") or {})
        content_type = "application/json"
        for name in [name for name in answer_headers if name.lower() in ("content-type", "content-length")]:
            value = answer_headers.pop(name)
            content_type = value if name.lower() == "content-type" else content_type
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        return Response(int(result.get("statusCode", 200)), data, content_type, answer_headers)


def _invoke(api: LocalHttpApi, request: Request, *, function: str) -> Response:
    return api.invoke(function, request)


def _not_found(api: LocalHttpApi, request: Request) -> Response:
    return Response.json(404, {"message": "Not Found"})
