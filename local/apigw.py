"""A local stand-in for the stack's HTTP API (API Gateway, payload format 2.0), on loopback.

Routes come from the template (each function's ``HttpApi`` events); a request becomes the event API
Gateway delivers and runs the real handler through the offline stack's Lambda router. IAM (SigV4)
authorization is not checked here: the template's authorizer is exercised on AWS only.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

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
        "body": body.decode("utf-8", errors="replace"),
        "isBase64Encoded": False,
    }


class LocalHttpApi:
    def __init__(self, template: dict[str, Any], router: LambdaRouter) -> None:
        self.routes = routes(template)
        self.router = router
        self._httpd: ThreadingHTTPServer | None = None
        self.url: str | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                api.handle(self)

            def do_GET(self) -> None:
                api.handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._httpd.serve_forever, name="local-http-api", daemon=True).start()
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        function = self.routes.get(f"{request.command} {parts.path}")
        length = int(request.headers.get("Content-Length") or 0)
        if function is None:
            return self._send(request, 404, {"message": "Not Found"})
        if length > MAX_BODY_BYTES:
            return self._send(request, 413, {"message": "Request Entity Too Large"})
        body = request.rfile.read(length) if length else b""
        event = http_event(request.command, parts.path, parts.query, dict(request.headers.items()), body)
        result, error = self.router.invoke(function, event)
        if error:  # what API Gateway answers when the integration fails
            return self._send(request, 500, {"message": "Internal Server Error"})
        status = int(result.get("statusCode", 200))
        payload = result.get("body", "")
        self._send(request, status, payload, result.get("headers") or {})

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        request.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            if name.lower() != "content-length":
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
