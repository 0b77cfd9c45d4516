"""Loopback HTTP plumbing shared by the local services (:mod:`local.comprehend`, :mod:`local.a2i`).

:class:`LoopbackServer` is a threading HTTP server that remembers its open connections, so that a stopped
service can close the kept-alive ones (boto3's, a browser's) and answer nothing more;
:class:`BackgroundServer` runs one on a daemon thread; :class:`RequestHandler` is the keep-alive request
handler base with the body, response and logging helpers the services use; :class:`LocalService` is the
services' base: ``start`` / ``with`` and a lazily made S3 client.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

LOG = logging.getLogger("local.httpserver")

S = TypeVar("S")


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


class RequestHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 handler base: ``_body``, ``_send``, ``_send_json``; logs at DEBUG to ``logger``."""

    protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses its connection, which keeps latency low
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server: LoopbackServer[Any]
    json_content_type: ClassVar[str] = "application/json"
    logger: ClassVar[logging.Logger] = LOG

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), self.json_content_type, headers or {})

    def _send(self, status: int, data: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        self.logger.debug("%s - " + format, self.address_string(), *args)


class LocalService:
    """Base of a service served on loopback HTTP by ``server_class`` / ``handler_class`` (set by subclasses).

    ``start(host, port)`` serves in a background thread named ``thread_name`` and returns the base URL
    (``url``); ``with service:`` starts it if needed and calls ``stop()`` on exit (subclasses define
    ``stop``, calling ``_stop_serving``). ``s3`` is made on first use: ``s3_client_factory()``, else
    ``boto3.client("s3", **s3_client_kwargs)``.
    """

    server_class: ClassVar[type[LoopbackServer[Any]]] = LoopbackServer
    handler_class: ClassVar[type[RequestHandler]]
    thread_name: ClassVar[str]
    poll_interval: ClassVar[float] = 0.5

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
        httpd = self.server_class((host, port), self.handler_class)
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
