"""The HTTP API runs offline: requests to the local gateway reach the real handlers as API Gateway events."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local import cli, datagen
from local.apigw import LocalHttpApi, http_event, routes
from local.stack import Offline, load_template, running


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Offline, str]]:
    with running(tmp_path_factory.mktemp("api") / "comprehend") as env:
        env.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(100, seed=99)))
        env.stack.upload("train/new/first.csv", datagen.to_csv(datagen.generate(100, seed=1)))
        api = LocalHttpApi(env.stack.template, env.router)
        url = api.start()
        yield env, url
        api.stop()


def post(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_routes_come_from_the_template() -> None:
    """Given the template, then every HttpApi event of a function is a route of the local gateway."""
    assert {"POST /classify", "POST /feedback", "POST /analyze"} <= set(routes(load_template()))


def test_a_body_that_is_not_utf8_reaches_the_handler_unaltered() -> None:
    """Given bytes that are not UTF-8, then the event carries them base64-encoded (flagged), not replaced."""
    event = http_event("POST", "/classify", "", {}, b'{"text": "\xff"}')
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b'{"text": "\xff"}'
    assert http_event("POST", "/classify", "", {}, b"{}")["body"] == "{}"


def test_an_invalid_body_over_http_is_a_400_in_the_shared_error_shape(served: tuple[Offline, str]) -> None:
    """Given the gateway, when a body is not UTF-8 or nested too deep, then the answer is 400 invalid_json."""
    _, url = served
    for body in (b'{"text": "\xff\xfe"}', b"[" * 10_000):
        status, answer = post(f"{url}/classify", body)
        assert (status, answer["error"]["code"]) == (400, "invalid_json")


def test_classify_over_http_returns_a_prediction(served: tuple[Offline, str]) -> None:
    """Given a trained model, when a client POSTs /classify, then the real handler answers with scores."""
    _, url = served

    status, body = post(f"{url}/classify", {"text": "my parcel never arrived, tracking says depot"})

    assert status == 200
    assert body["label"] == "SHIPPING" and body["prediction_id"]
    assert sorted(c["Name"] for c in body["classes"]) == sorted(datagen.TOPICS)


def test_feedback_with_an_unknown_label_is_a_400(served: tuple[Offline, str]) -> None:
    """Given the model's labels, when feedback names another label, then the client gets a 400 naming it."""
    _, url = served

    status, body = post(f"{url}/feedback", {"text": "hello", "label": "NOT_A_LABEL"})

    assert status == 400 and body["error"]["field"] == "label"


def test_unknown_route_is_a_404(served: tuple[Offline, str]) -> None:
    """Given the gateway, when a path no function serves is requested, then it answers 404."""
    _, url = served

    assert post(f"{url}/nope", {})[0] == 404


def test_cli_classify_posts_to_the_api(
    served: tuple[Offline, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a running API, when `comprehend-al classify` runs, then it prints the prediction and exits 0."""
    _, url = served

    code = cli.main(["classify", "--api", url, "--text", "I was charged twice on my card"])

    out = capsys.readouterr().out
    assert code == 0 and "HTTP 200" in out and '"label": "BILLING"' in out


def test_cli_without_a_running_stack_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Given no `serve` wrote its API URL, when `classify` runs, then it exits 4 with a clear message."""
    code = cli.main(["classify", "--state-dir", str(tmp_path), "--text", "hi"])

    assert code == cli.ExitCode.NOT_RUNNING
    assert "start `comprehend-al serve` first" in capsys.readouterr().out
