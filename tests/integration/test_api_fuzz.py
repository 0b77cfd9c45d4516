"""The HTTP API under malformed input: no request body makes a route answer 5xx or raise.

Each route's real ``lambda_handler`` gets 1,500 generated bodies (seeded, so a failure reproduces) in the
API Gateway HTTP API (v2) event of ``events/``, through the offline stack's Lambda router (the template
deployed into moto, no model active). Bodies are built by structure, not drawn from a list: random bytes,
invalid UTF-8, deep nesting, wrong types, huge strings, JSON's corner cases, byte-level mutations of valid
bodies, and valid bodies. Each answer is checked against an oracle written apart from the parser:

* no exception leaves the handler, the answer is JSON, and every error is ``{"error": {"code", "message",
  "field"}}`` with a code of ``comprehend_al.api.STATUS`` at that code's status;
* a body the oracle finds invalid is a 4xx; a valid one is what a route with no model answers: /classify
  503 ``model_not_ready``, /analyze 200 with both kinds skipped, /feedback 503 ``model_not_ready``
  (by text) or a 4xx (unknown prediction, unusable label);
* no 5xx otherwise: 503 is only ever ``model_not_ready`` for a valid body.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import string
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from comprehend_al import wiring
from comprehend_al.api import STATUS
from comprehend_al.json_body import MAX_BODY_BYTES
from comprehend_al.predict import PREDICTION_ID

from local.stack import Offline, running

ROOT = Path(__file__).resolve().parents[2]
CASES_PER_ROUTE = 1_500
MAX_TEXT_BYTES = 10_000  # what ClassifyDocument takes: the limit of every route's text
ROUTES = {  # route → (function, sample event, fields: name → required)
    "classify": ("ClassifyFunction", "events/classify/text.json", {"text": True}),
    "feedback": (
        "FeedbackFunction",
        "events/feedback/by_text.json",
        {"label": True, "prediction_id": False, "text": False},
    ),
    "analyze": ("AnalyzeFunction", "events/analyze/analyze.json", {"text": True}),
}
SEEDS = {"classify": 1101, "feedback": 2202, "analyze": 3303}
WORDS = ["parcel", "refund", "charged", "twice", "login", "password", "tracking", "invoice", "card", "depot"]
UNICODE = [
    "é",
    "ß",
    "日本語",
    "😀",
    "\u0301",
    "\u200b",
    "\x00",
    "\x1f",
    "\u2028",
    "\U0001d518\U0001d52b",
    "ي",
    "\ufeff",
]
LABELS = ["BILLING", "SHIPPING", "ACCOUNT", "TECHNICAL"]


@dataclass(frozen=True)
class Case:
    kind: str
    body: bytes | None  # the raw bytes the client sent (None: no body at all)
    base64: bool  # delivered base64-encoded, as API Gateway does with a body it does not take for text


# --- valid bodies ---------------------------------------------------------------------------------------
def a_text(rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.6:
        return " ".join(rng.choice(WORDS + UNICODE) for _ in range(rng.randint(1, 30)))
    if shape < 0.8:  # at the limit, in bytes of UTF-8, with multi-byte characters
        unit = rng.choice(["a", "é", "日", "😀"])
        return unit * (MAX_TEXT_BYTES // len(unit.encode()))
    if shape < 0.9:  # brackets and quotes inside a string are text, not structure
        return rng.choice(["[", "{", '"', "\\", "]}"]) * rng.randint(1, 3_000)
    return "".join(chr(rng.randint(0x20, 0xD7FF)) for _ in range(rng.randint(1, 500)))


def a_valid_request(route: str, rng: random.Random) -> dict[str, Any]:
    if route != "feedback":
        return {"text": a_text(rng)}
    label: str | list[str] = rng.choice(LABELS) if rng.random() < 0.7 else rng.sample(LABELS, 2)
    by = rng.random()
    if by < 0.6:
        return {"text": a_text(rng), "label": label}
    if by < 0.9:
        return {"prediction_id": f"{rng.getrandbits(128):032x}", "label": label}
    return {"prediction_id": "p-1", "text": a_text(rng), "label": label}


def dumps(value: Any, rng: random.Random) -> bytes:
    return json.dumps(value, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


# --- malformed bodies -----------------------------------------------------------------------------------
def random_bytes(route: str, rng: random.Random) -> bytes:
    return rng.randbytes(rng.choice([0, 1, 2, 7, 64, 512, 4_096]))


def random_text(route: str, rng: random.Random) -> bytes:
    """Code points from JSON's punctuation, ASCII, the BMP and the surrogates."""
    alphabet = [*'{}[]":,\\ \t\n0-e.', *string.ascii_letters, "NaN", "true", "null", "\\u", "\ufeff"]
    parts = [
        rng.choice(alphabet)
        if rng.random() < 0.8
        else chr(rng.randint(0xD800, 0xDFFF) if rng.random() < 0.3 else rng.randint(0x80, 0x10FFFF))
        for _ in range(rng.randint(0, 300))
    ]
    return "".join(parts).encode("utf-8", "surrogatepass")


def invalid_utf8(route: str, rng: random.Random) -> bytes:
    body = bytearray(dumps(a_valid_request(route, rng), rng))
    bad = [
        b"\xff",
        b"\xfe",
        b"\xc0\x80",
        b"\xe2\x82",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\x80",
        b"\xf0\x9f\x98",
    ]
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(body))
        body[at:at] = rng.choice(bad)
    return bytes(body)


def deep_nesting(route: str, rng: random.Random) -> bytes:
    depth = rng.choice([17, 64, 999, 1_000, 1_001, 5_000, 30_000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}"), ('{"text":[', "]}"), ('[{"x":', "}]")])
    inner = rng.choice(["1", '"x"', "[]", "{}", ""])
    closing = closer * (depth if rng.random() < 0.8 else rng.randint(0, depth))
    body = opener * depth + inner + closing
    if rng.random() < 0.3:
        body = '{"text": ' + body + "}"
    return body.encode()[: rng.choice([MAX_BODY_BYTES, 2 * MAX_BODY_BYTES])]


def a_wrong_value(rng: random.Random, depth: int = 0) -> Any:
    choices: list[Callable[[], Any]] = [
        lambda: rng.randint(-(10**6), 10**6),
        lambda: rng.random() * 10 ** rng.randint(-300, 300),
        lambda: rng.choice([True, False, None]),
        lambda: 10 ** rng.choice([19, 100, 400]),
        lambda: [a_wrong_value(rng, depth + 1) for _ in range(rng.randint(0, 3))] if depth < 3 else [],
        lambda: {"text": a_wrong_value(rng, depth + 1)} if depth < 3 else {},
        lambda: [rng.choice(LABELS), 7],
    ]
    return rng.choice(choices)()


def wrong_types(route: str, rng: random.Random) -> bytes:
    request = a_valid_request(route, rng)
    request[rng.choice(list(request))] = a_wrong_value(rng)
    return dumps(request, rng)


def huge_strings(route: str, rng: random.Random) -> bytes:
    request = a_valid_request(route, rng)
    unit = rng.choice(["a", "é", "日", "😀", "\x01"])
    size = rng.choice(
        [MAX_TEXT_BYTES + 1, MAX_TEXT_BYTES + 3, 3 * MAX_TEXT_BYTES, MAX_BODY_BYTES, 10 * MAX_BODY_BYTES]
    )
    huge = unit * (size // len(unit.encode()) + 1)
    where = rng.choice(["value", "key", "label", "prediction_id"])
    if where == "key":
        request[huge] = "x"
    elif where == "label":
        request["label"] = [huge] if rng.random() < 0.5 else [rng.choice(LABELS)] * (size // 8)
    elif where == "prediction_id":
        request["prediction_id"] = huge[: rng.choice([129, 2_048, 50_000])]
    else:
        request[rng.choice(list(request))] = huge
    return dumps(request, rng)


def json_corners(route: str, rng: random.Random) -> bytes:
    field = "text" if route != "feedback" else rng.choice(["text", "label"])
    valid = dumps(a_valid_request(route, rng), rng).decode("utf-8", "surrogatepass")
    corners = [
        "",
        " ",
        "\n\t \r",
        "null",
        "true",
        "0",
        '"text"',
        "[]",
        "[{}]",
        "{}",
        "{",
        "}",
        f'{{"{field}": NaN}}',
        f'{{"{field}": Infinity}}',
        f'{{"{field}": -Infinity}}',
        f'{{"{field}": 1e999}}',
        f'{{"{field}": -1e999}}',
        f'{{"{field}": 1e-999}}',
        f'{{"{field}": {"9" * rng.choice([20, 101, 4_301, 50_000])}}}',
        f'{{"{field}": "\\ud800"}}',
        f'{{"{field}": "\\udc00x"}}',
        f'{{"{field}": "a\\ud83d\\ude00"}}',  # a valid pair: one character
        f'{{"\\ud800": "a", "{field}": "a"}}',
        f'{{"{field}": "a", "{field}": "b"}}',
        valid[:-1] + ', "extra": 1}',
        valid[:-1] + ', "Text": "a"}',
        valid[:-1] + ', "": ""}',
        "\ufeff" + valid,
        valid + "\n",
        valid + " x",
        valid + valid,
        f'{{"{field}": "\\x"}}',
        f'{{"{field}": "a\x00b"}}',
        "{'text': 'single quotes'}",
        f'{{"{field}": "a",}}',
        f'{{"{field}": undefined}}',
    ]
    return rng.choice(corners).encode("utf-8", "surrogatepass")


def mutations(route: str, rng: random.Random) -> bytes:
    body = bytearray(dumps(a_valid_request(route, rng), rng))
    significant = b'{}[]",:\\ 0en-.'
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(body))
        operation = rng.randrange(6)
        if operation == 0 and body:
            del body[min(at, len(body) - 1)]
        elif operation == 1:
            body[at:at] = bytes([rng.choice(significant) if rng.random() < 0.7 else rng.randrange(256)])
        elif operation == 2 and body:
            body[min(at, len(body) - 1)] = rng.choice(significant)
        elif operation == 3:
            end = rng.randint(at, len(body))
            body[at:at] = body[at:end]  # a span repeated
        elif operation == 4:
            del body[at:]  # truncated
        else:
            body = body.upper() if rng.random() < 0.5 else body.replace(b'"', b"'", 1)
    return bytes(body)


def valid(route: str, rng: random.Random) -> bytes:
    return dumps(a_valid_request(route, rng), rng)


GENERATORS: list[tuple[str, int, Callable[[str, random.Random], bytes]]] = [  # (kind, weight, generator)
    ("random_bytes", 10, random_bytes),
    ("random_text", 10, random_text),
    ("invalid_utf8", 10, invalid_utf8),
    ("deep_nesting", 8, deep_nesting),
    ("wrong_types", 14, wrong_types),
    ("huge_strings", 8, huge_strings),
    ("json_corners", 14, json_corners),
    ("mutations", 18, mutations),
    ("valid", 8, valid),
]


def cases(route: str) -> Iterator[Case]:
    rng = random.Random(SEEDS[route])
    kinds = [kind for kind, weight, _ in GENERATORS for _ in range(weight)]
    by_kind = {kind: generator for kind, _, generator in GENERATORS}
    yield Case("no_body", None, False)
    for _ in range(CASES_PER_ROUTE - 1):
        kind = rng.choice(kinds)
        body = by_kind[kind](route, rng)
        yield Case(kind, body, rng.random() < 0.3)


# --- the oracle: the request a body holds, written from the API's documentation, not from its parser ---
class Unusable(Exception):
    """The oracle's verdict: no valid request in this body."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise Unusable("duplicate key")
    return dict(pairs)


def _no_number(literal: str) -> Any:
    raise Unusable(f"no field takes a number: {literal[:20]}")


def _a_string(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def oracle(route: str, body: bytes | None) -> dict[str, Any] | None:
    """The valid request in ``body``, or None."""
    if not body or len(body) > MAX_BODY_BYTES:
        return None
    try:
        data = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_pairs,
            parse_int=_no_number,
            parse_float=_no_number,
            parse_constant=_no_number,
        )
    except (Unusable, ValueError, RecursionError):
        return None
    fields = ROUTES[route][2]
    if not isinstance(data, dict) or not set(data) <= set(fields):
        return None
    for name, required in fields.items():
        if data.get(name) is None and (required or (name in data and route != "feedback")):
            return None  # missing where required; null only for /feedback's optional fields
    text = data.get("text")
    if text is not None and not (
        _a_string(text) and text.strip() and len(text.encode("utf-8")) <= MAX_TEXT_BYTES
    ):
        return None
    label = data.get("label")
    if label is not None and not (
        _a_string(label) or (isinstance(label, list) and all(_a_string(x) for x in label))
    ):
        return None
    prediction_id = data.get("prediction_id")
    if prediction_id is not None and not (
        _a_string(prediction_id) and PREDICTION_ID.fullmatch(prediction_id)
    ):
        return None
    return data


# --- the stack ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    """The deployed template with no model active (an active endpoint is not needed to refuse a body)."""
    with running(tmp_path_factory.mktemp("fuzz") / "comprehend") as env:
        env.router.cold_start_hooks.append(wiring.reset)
        yield env
    wiring.reset()


def event_for(route: str, case: Case) -> dict[str, Any]:
    event = json.loads((ROOT / ROUTES[route][1]).read_text())
    if case.body is None:
        event.pop("body", None)
    elif case.base64:
        event["body"] = base64.b64encode(case.body).decode()
    else:  # as text: bytes that are not UTF-8 arrive as lone surrogates, the worst a str can hold
        event["body"] = case.body.decode("utf-8", "surrogateescape")
    event["isBase64Encoded"] = case.base64 and case.body is not None
    return copy.deepcopy(event)


def problems_with(route: str, case: Case, result: Any, error: str | None) -> list[str]:
    """What is wrong with one answer (empty when it is right)."""
    if error is not None:
        return [f"exception escaped: {result.get('errorType')}: {str(result.get('errorMessage'))[:200]}"]
    status = int(result["statusCode"])
    try:
        body = json.loads(result["body"])
    except (KeyError, TypeError, ValueError):
        return [f"{status}: the body is not JSON: {str(result.get('body'))[:200]}"]
    found: list[str] = []
    code = None
    if status >= 400:
        error_part = body.get("error") if isinstance(body, dict) else None
        if not (
            isinstance(error_part, dict)
            and set(body) == {"error"}
            and set(error_part) == {"code", "message", "field"}
            and isinstance(error_part["message"], str)
            and (error_part["field"] is None or isinstance(error_part["field"], str))
        ):
            return [f"{status}: not the shared error shape: {str(body)[:200]}"]
        code = error_part["code"]
        if STATUS.get(code) != status:
            found.append(f"{status}: code {code!r} belongs to status {STATUS.get(code)}")
    request = oracle(route, case.body)
    if request is None:
        if not 400 <= status < 500:
            found.append(f"{status} {code}: an invalid body must be a 4xx")
    elif route == "classify" and (status, code) != (503, "model_not_ready"):
        found.append(f"{status} {code}: a valid /classify body with no model must be 503 model_not_ready")
    elif route == "analyze" and not (
        status == 200 and set(body["skipped"]) == {"classifier", "entity_recognizer"}
    ):
        found.append(f"{status} {code}: a valid /analyze body with no model must be 200 with both skipped")
    elif route == "feedback" and not (
        ((status, code) == (503, "model_not_ready") and request.get("prediction_id") is None)
        or 400 <= status < 500
    ):
        found.append(
            f"{status} {code}: a valid /feedback body must be 503 model_not_ready (by text) or a 4xx"
        )
    return found


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_no_body_makes_a_route_fail_or_raise(offline: Offline, route: str) -> None:
    # Given the route's handler, with no model active
    function = ROUTES[route][0]
    failures: list[str] = []
    statuses: Counter[tuple[str, int]] = Counter()
    # When every generated body is posted to it
    for index, case in enumerate(cases(route)):
        result, error = offline.router.invoke(function, event_for(route, case))
        for problem in problems_with(route, case, result, error):
            shown = case.body[:80] if case.body is not None else None
            failures.append(f"#{index} {case.kind} base64={case.base64} {shown!r}: {problem}")
        if error is None:
            statuses[(case.kind, int(result["statusCode"]))] += 1
    # Then none failed, and the run really covered every kind of body and answer
    assert not failures, f"{len(failures)} of {CASES_PER_ROUTE} failed:\n" + "\n".join(failures[:20])
    assert sum(statuses.values()) == CASES_PER_ROUTE
    kinds = {kind for kind, _ in statuses}
    assert kinds == {kind for kind, _, _ in GENERATORS} | {"no_body"}
    answered = {status for _, status in statuses}
    assert {400, 413} <= answered
    assert (503 if route != "analyze" else 200) in answered, statuses
