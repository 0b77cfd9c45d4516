"""The local services' resolver: route rules, routers included under a prefix, and the HTTP plumbing."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.httpserver import LocalService, Request, Resolver, Response, Router, path_segments

Endpoint = Callable[[Any, Request], Response]


def _ok(service: Any, request: Request) -> Response:
    return Response.json(200, {"route": request.method + " " + request.path, "params": request.params})


# --- rules ---------------------------------------------------------------------------------------------
def test_a_path_is_compared_segment_by_segment_each_percent_decoded() -> None:
    assert path_segments("/human-loops/a%20b/") == ["human-loops", "a b"]
    assert path_segments("/") == []


def test_a_parameter_takes_one_segment() -> None:
    router: Router[Endpoint] = Router()
    router.get("/human-loops/<name>")(_ok)

    found = router.match("GET", "/human-loops/loop%2F1")

    assert found is not None and found[1] == {"name": "loop/1"}
    assert router.match("GET", "/human-loops/a/b") is None
    assert router.match("GET", "/human-loops") is None


def test_a_path_parameter_takes_the_rest_of_the_path_even_none() -> None:
    router: Router[Endpoint] = Router()
    router.post("/<path:path>")(_ok)

    root, deep = router.match("POST", "/"), router.match("POST", "/a/b")

    assert root is not None and root[1] == {"path": ""}
    assert deep is not None and deep[1] == {"path": "a/b"}


def test_a_route_answers_its_method_only() -> None:
    router: Router[Endpoint] = Router()
    router.post("/human-loops/stop", name="StopHumanLoop")(_ok)

    found = router.match("POST", "/human-loops/stop")

    assert found is not None and found[0].name == "StopHumanLoop"
    assert router.match("GET", "/human-loops/stop") is None


def test_an_included_router_serves_under_its_prefix() -> None:
    pages: Router[Endpoint] = Router()
    pages.get("/")(_ok)
    pages.get("/review.css")(_ok)
    app: Resolver[Any] = Resolver()

    app.include_router(pages, prefix="/review")

    assert [route.rule for route in app.routes] == ["/review", "/review/review.css"]
    assert app.match("GET", "/review/") is not None


# --- over HTTP -----------------------------------------------------------------------------------------
class _Echo(LocalService):
    thread_name = "test-http"
    resolver: Resolver[Any] = Resolver(
        not_found=lambda service, request: Response.json(404, {"missing": request.path}),
        not_found_methods=("GET",),
    )
    resolver.post("/echo")(lambda service, request: Response.json(200, {"body": request.body.decode()}))
    resolver.post("/refuse")(lambda service, request: Response.json(413, {"read": False}))


@pytest.fixture
def echo() -> Iterator[http.client.HTTPConnection]:
    with _Echo() as service:
        assert service.url is not None
        connection = http.client.HTTPConnection(service.url.removeprefix("http://"), timeout=10)
        yield connection
        connection.close()


def _call(connection: http.client.HTTPConnection, method: str, path: str, body: bytes = b"") -> Any:
    connection.request(method, path, body=body or None)
    response = connection.getresponse()
    return response.status, response.getheader("Connection"), response.read()


def test_unmatched_requests_go_to_not_found(echo: http.client.HTTPConnection) -> None:
    status, _, body = _call(echo, "GET", "/nowhere")

    assert (status, json.loads(body)) == (404, {"missing": "/nowhere"})


def test_a_method_no_route_answers_is_not_implemented(echo: http.client.HTTPConnection) -> None:
    status, _, _ = _call(echo, "DELETE", "/echo")

    assert status == 501


def test_a_body_nobody_read_ends_the_connection_instead_of_becoming_the_next_request(
    echo: http.client.HTTPConnection,
) -> None:
    refused = _call(echo, "POST", "/refuse", b"GET /nowhere HTTP/1.1\r\n\r\n")
    echoed = _call(echo, "POST", "/echo", b"hello")  # http.client reconnects after "Connection: close"

    assert refused[:2] == (413, "close")
    assert (echoed[0], json.loads(echoed[2])) == (200, {"body": "hello"})
