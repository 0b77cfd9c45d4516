"""Loopback HTTP plumbing shared by the local services (:mod:`local.comprehend`, :mod:`local.a2i`,
:mod:`local.apigw`): routes declared on a small resolver, and the servers that run them.

Routing follows Powertools' event handler (``APIGatewayHttpResolver`` + ``Router`` + ``include_router``)::

    router = Router()                              # in the module of a page or an API

    @router.get("/review")
    def review_list(service: A2IService, request: Request) -> Response: ...

    app = Resolver()                               # one per service
    app.include_router(router)

A rule is a path whose segments are literals, ``<name>`` (one segment) or a last ``<name:path>`` (the rest
of the path, possibly empty); a request path is compared segment by segment, each percent-decoded, leading
and trailing slashes ignored. Unlike Powertools' resolver, a handler receives the service and the request as
arguments: these servers handle requests on many threads at once, in the same process as the Lambda handlers
of the offline stack, whose Powertools resolvers keep the current event in a class attribute.

:class:`LoopbackServer` is a threading HTTP server that remembers its open connections, so that a stopped
service can close the kept-alive ones (boto3's, a browser's) and answer nothing more;
:class:`BackgroundServer` runs one on a daemon thread; :class:`RequestHandler` turns each HTTP request into
a :class:`Request` for the service's resolver and writes the :class:`Response` back; :class:`LocalService`
is the services' base: ``start`` / ``with`` and a lazily made S3 client.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

LOG = logging.getLogger("local.httpserver")

S = TypeVar("S")
H = TypeVar("H", bound=Callable[..., Any])


class LoopbackServer(ThreadingHTTPServer, Generic[S]):
    """A ThreadingHTTPServer that tracks its client connections; ``service`` is what handlers call."""

    daemon_threads = True
    allow_reuse_address = True
    service: S

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Close kept-alive connections (a browser's too), so that a stopped service answers nothing."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class BackgroundServer:
    """``httpd`` serving on a daemon thread named ``name``; ``url`` is its base URL."""

    def __init__(self, httpd: LoopbackServer[Any], *, name: str, poll_interval: float = 0.5) -> None:
        self.httpd = httpd
        self.thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": poll_interval}, name=name, daemon=True
        )
        self.thread.start()
        bound_host, bound_port = httpd.server_address[:2]
        self.url = f"http://{bound_host!s}:{bound_port}"

    def stop(self) -> None:
        """Stop serving, close the open connections and the socket, and wait for the thread."""
        self.httpd.shutdown()
        self.httpd.close_connections()
        self.httpd.server_close()
        self.thread.join(timeout=5)


# --- requests, responses, routes -------------------------------------------------------------------------
class Request:
    """One HTTP request: ``method``, ``path`` (no query), raw ``query``, ``headers``, ``params`` (the rule's).

    The body is read on first use of :attr:`body` (a handler may refuse a request without reading it).
    """

    def __init__(
        self, method: str, path: str, query: str, headers: Message, read: Callable[[int], bytes]
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.params: dict[str, str] = {}
        self._read = read
        self._body: bytes | None = None

    @property
    def content_length(self) -> int:
        return int(self.headers.get("Content-Length") or 0)

    @property
    def body(self) -> bytes:
        if self._body is None:
            length = self.content_length
            self._body = self._read(length) if length else b""
        return self._body

    @property
    def body_pending(self) -> bool:
        """True when the request has a body that nobody read (the connection cannot be reused)."""
        return self._body is None and self.content_length > 0

    def query_params(self, *, keep_blank_values: bool = False) -> dict[str, str]:
        """The query string as a dict (the last value of a repeated name wins)."""
        parsed = parse_qs(self.query, keep_blank_values=keep_blank_values)
        return {key: values[-1] for key, values in parsed.items()}

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body as a dict (the last value of a name wins)."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"))
        return {key: values[-1] for key, values in parsed.items()}


@dataclass(frozen=True)
class Response:
    """What a route answers: ``status``, ``body`` bytes, ``content_type`` and other ``headers``."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls,
        status: int,
        payload: Any,
        *,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return cls(status, json.dumps(payload).encode("utf-8"), content_type, headers or {})

    @classmethod
    def html(cls, status: int, text: str) -> Response:
        return cls(status, text.encode("utf-8"), "text/html; charset=utf-8")

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status, text.encode("utf-8"), content_type)

    @classmethod
    def redirect(cls, location: str, status: int = HTTPStatus.SEE_OTHER) -> Response:
        return cls(status, headers={"Location": location})


def path_segments(path: str) -> list[str]:
    """``/human-loops/a%20b/`` → ``["human-loops", "a b"]``; ``/`` → ``[]``."""
    stripped = path.strip("/")
    return [unquote(part) for part in stripped.split("/")] if stripped else []


@dataclass(frozen=True)
class Route(Generic[H]):
    """``method`` + ``rule`` → ``handler``; ``name`` names the operation (default: the handler's name)."""

    method: str
    rule: str
    handler: H
    name: str

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        """The rule's parameters when the request matches, else None."""
        if method != self.method:
            return None
        params: dict[str, str] = {}
        pattern = path_segments(self.rule)
        for index, part in enumerate(pattern):
            if part.startswith("<") and part.endswith(":path>"):
                params[part[1 : -len(":path>")]] = "/".join(segments[index:])
                return params
            if index >= len(segments):
                return None
            if part.startswith("<") and part.endswith(">"):
                params[part[1:-1]] = segments[index]
            elif part != segments[index]:
                return None
        return params if len(segments) == len(pattern) else None


class Router(Generic[H]):
    """Route declarations: ``@router.get(rule)``, ``@router.post(rule)``, ``@router.delete(rule)``."""

    def __init__(self) -> None:
        self.routes: list[Route[H]] = []

    def route(self, rule: str, method: str, *, name: str | None = None) -> Callable[[H], H]:
        def register(handler: H) -> H:
            self.routes.append(Route(method.upper(), rule, handler, name or handler.__name__))
            return handler

        return register

    def get(self, rule: str, *, name: str | None = None) -> Callable[[H], H]:
        return self.route(rule, "GET", name=name)

    def post(self, rule: str, *, name: str | None = None) -> Callable[[H], H]:
        return self.route(rule, "POST", name=name)

    def delete(self, rule: str, *, name: str | None = None) -> Callable[[H], H]:
        return self.route(rule, "DELETE", name=name)

    def include_router(self, router: Router[Any], prefix: str = "") -> None:
        """Add ``router``'s routes, their rules under ``prefix`` (``/api``)."""
        base = prefix.rstrip("/")
        for route in router.routes:
            rule = route.rule if not base else base if route.rule == "/" else base + route.rule
            self.routes.append(Route(route.method, rule, route.handler, route.name))

    def match(self, method: str, path: str) -> tuple[Route[H], dict[str, str]] | None:
        """The first route that matches ``method`` and ``path``, with its parameters."""
        segments = path_segments(path)
        for route in self.routes:
            params = route.match(method, segments)
            if params is not None:
                return route, params
        return None


Endpoint = Callable[[S, Request], Response]
"""What a resolver's route does: ``(service, request) → response``."""


class Resolver(Router[Endpoint[S]]):
    """A service's routes; ``not_found`` answers the requests no route matches, for ``not_found_methods``."""

    def __init__(
        self, *, not_found: Endpoint[S] | None = None, not_found_methods: Iterable[str] = ()
    ) -> None:
        super().__init__()
        self.not_found = not_found
        self.not_found_methods = frozenset(not_found_methods if not_found is not None else ())

    def allows(self, method: str) -> bool:
        """Whether a route (or ``not_found``) answers ``method``; the others get 501, as http.server does."""
        return method in self.not_found_methods or any(route.method == method for route in self.routes)

    def resolve(self, service: S, request: Request) -> Response:
        found = self.match(request.method, request.path)
        if found is not None:
            route, request.params = found
            return route.handler(service, request)
        if self.not_found is not None and request.method in self.not_found_methods:
            return self.not_found(service, request)
        return Response.text(HTTPStatus.NOT_FOUND, "Not Found")


def json_object(body: bytes, error: Callable[[str], Exception]) -> dict[str, Any]:
    """A JSON request body that must be an object (empty: ``{}``); ``error(message)`` is raised otherwise."""
    try:
        request = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise error(f"Malformed JSON request body: {exc}") from exc
    if not isinstance(request, dict):
        raise error("The request body must be a JSON object")
    return request


# --- the server ----------------------------------------------------------------------------------------
class RequestHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1: each request goes to ``server.service.resolver``; logs at DEBUG to its logger."""

    protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses its connection, which keeps latency low
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server: LoopbackServer[LocalService]

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        service = self.server.service
        if not service.resolver.allows(self.command):
            self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({self.command!r})")
            return
        url = urlsplit(self.path)
        request = Request(self.command, url.path, url.query, self.headers, self.rfile.read)
        response = service.resolver.resolve(service, request)
        self._send(response, service.request_id_header, close=request.body_pending)

    def _send(self, response: Response, request_id_header: str | None, *, close: bool = False) -> None:
        self.send_response(response.status)
        if close:  # a body nobody read would be taken for the next request: this connection ends here
            self.send_header("Connection", "close")
        if response.content_type is not None:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if request_id_header:
            self.send_header(request_id_header, str(uuid.uuid4()))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        self.server.service.logger.debug("%s - " + format, self.address_string(), *args)


class LocalService:
    """Base of a service served on loopback HTTP: its ``resolver`` answers the requests.

    ``start(host, port)`` serves in a background thread named ``thread_name`` and returns the base URL
    (``url``); ``with service:`` starts it if needed and calls ``stop()`` on exit (subclasses define
    ``stop``, calling ``_stop_serving``). ``s3`` is made on first use: ``s3_client_factory()``, else
    ``boto3.client("s3", **s3_client_kwargs)``.
    """

    resolver: Resolver[Any]
    thread_name: ClassVar[str]
    poll_interval: ClassVar[float] = 0.5
    logger: ClassVar[logging.Logger] = LOG
    request_id_header: ClassVar[str | None] = "x-amzn-RequestId"

    def __init__(
        self,
        s3_client_factory: Callable[[], Any] | None = None,
        s3_client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._s3_factory = s3_client_factory
        self._s3_kwargs = s3_client_kwargs or {}
        self._s3: Any = None
        self._s3_lock = threading.Lock()
        self._server: BackgroundServer | None = None
        self.url: str | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: any free port) in a background thread; returns the base URL."""
        if self._server is not None:
            assert self.url is not None
            return self.url
        httpd: LoopbackServer[LocalService] = LoopbackServer((host, port), RequestHandler)
        httpd.service = self
        self._server = BackgroundServer(httpd, name=self.thread_name, poll_interval=self.poll_interval)
        self.url = self._server.url
        self._log_listening(self.url)
        return self.url

    def _log_listening(self, url: str) -> None:
        LOG.info("listening on %s", url)

    def _stop_serving(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def stop(self) -> None:
        self._stop_serving()

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def s3(self) -> Any:
        with self._s3_lock:
            if self._s3 is None:
                if self._s3_factory is not None:
                    self._s3 = self._s3_factory()
                else:
                    import boto3

                    self._s3 = boto3.client("s3", **self._s3_kwargs)
            return self._s3
