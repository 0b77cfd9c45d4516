"""The HTTP API's request parsing and error shape (``comprehend_al.api``), without AWS."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from comprehend_al.api import STATUS, error_body, parse_event, parse_request
from comprehend_al.errors import (
    ComprehendRequestRejected,
    ComprehendThrottled,
    InvalidField,
    ModelNotReady,
    ServiceUnavailable,
    TextTooLarge,
)
from comprehend_al.feedback import FeedbackRequest
from comprehend_al.inference import AnalyzeRequest
from comprehend_al.json_body import MAX_BODY_BYTES, MAX_DEPTH
from comprehend_al.predict import ClassifyRequest

ROOT = Path(__file__).resolve().parents[2]


def refused(body: str | bytes | None, model: Any = ClassifyRequest) -> InvalidField:
    with pytest.raises(InvalidField) as caught:
        parse_request(body, model)
    return caught.value


@pytest.mark.parametrize(
    ("body", "code", "field", "message"),
    [
        (None, "invalid_json", None, "empty"),
        ("", "invalid_json", None, "empty"),
        (" \n\t", "invalid_json", None, "empty"),
        (b"\xff{}", "invalid_json", None, "not valid UTF-8"),
        ("{\udc80}", "invalid_json", None, "not valid UTF-8"),
        ("[" * 1_000 + "]" * 1_000, "invalid_json", None, f"deeper than {MAX_DEPTH}"),
        ('{"text": ' + "[" * 50_000, "invalid_json", None, f"deeper than {MAX_DEPTH}"),
        ('{"text": 1' + "0" * 5_000 + "}", "invalid_json", "text", "more than 100 digits"),
        ('{"text": 1e999}', "invalid_json", "text", "out of a float's range"),
        ('{"text": NaN}', "invalid_json", "text", "NaN is not a JSON number"),
        ('{"text": -Infinity}', "invalid_json", "text", "-Infinity is not a JSON number"),
        ('{"text": "a", "text": "b"}', "invalid_json", "text", "duplicate key 'text'"),
        ('["text"]', "invalid_json", None, "not an array"),
        ('"text"', "invalid_json", None, "not a string"),
        ("null", "invalid_json", None, "not null"),
        ('{"text": "a\\ud800"}', "invalid_json", "text", "unpaired surrogate at 1"),
        ('{"\\udfff": "a"}', "invalid_json", "\\udfff", "unpaired surrogate"),
        ('{"text": 7}', "invalid_request", "text", "valid string"),
        ('{"text": ["a"]}', "invalid_request", "text", "valid string"),
        ("{}", "invalid_request", "text", "Field required"),
        ('{"text": "a", "lang": "en"}', "invalid_request", "lang", "unknown field: expected text"),
        ('{"text": "  "}', "empty_text", "text", "must not be empty"),
        ('{"text": "' + "😀" * 2_501 + '"}', "text_too_large", "text", "10004 bytes"),
        (
            '{"text": "' + "a" * MAX_BODY_BYTES + '"}',
            "body_too_large",
            None,
            f"exceeds {MAX_BODY_BYTES} bytes",
        ),
        (
            '{"text": "' + "é" * (MAX_BODY_BYTES // 2) + '"}',
            "body_too_large",
            None,
            "bytes",
        ),  # bytes, not chars
    ],
)
def test_a_malformed_body_is_refused_naming_the_problem(
    body: str | bytes | None, code: str, field: str | None, message: str
) -> None:
    error = refused(body)
    assert (error.code, error.field) == (code, field)
    assert message in str(error)
    assert STATUS[error.code] in {400, 413}


def test_brackets_and_quotes_inside_a_string_are_text_not_nesting() -> None:
    text = '[{"\\"' * 1_000 + "\\\\"
    assert parse_request(json.dumps({"text": text}), ClassifyRequest).text == text


def test_a_valid_surrogate_pair_is_one_character() -> None:
    assert parse_request('{"text": "\\ud83d\\ude00"}', AnalyzeRequest).text == "😀"


def test_a_text_of_exactly_the_limit_in_bytes_is_accepted_escaped_or_not() -> None:
    text = "\x01" * 10_000  # the worst escaping: 6 bytes of JSON per byte of text
    assert len(json.dumps({"text": text})) <= MAX_BODY_BYTES
    assert parse_request(json.dumps({"text": text}), ClassifyRequest).text == text
    assert parse_request(json.dumps({"text": "日" * 3_333}, ensure_ascii=False), AnalyzeRequest)


def test_a_field_name_echoed_in_an_error_is_cut_short() -> None:
    error = refused(json.dumps({"text": "a", "k" * 10_000: 1}))
    assert error.field is not None and len(error.field) <= 80 and len(str(error)) < 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"label": "A", "prediction_id": "x" * 129}, "prediction_id"),
        ({"label": "A", "prediction_id": ""}, "prediction_id"),
        ({"label": "A", "prediction_id": "a b"}, "prediction_id"),
        ({"label": 3, "text": "t"}, "label"),
        ({"label": ["A", None], "text": "t"}, "label"),
        ({"label": "A", "text": ""}, "text"),
    ],
)
def test_feedback_fields_are_checked_before_any_lookup(body: dict[str, Any], field: str) -> None:
    assert refused(json.dumps(body), FeedbackRequest).field == field


def test_feedback_takes_null_for_its_optional_fields() -> None:
    request = parse_request('{"label": "A", "text": "t", "prediction_id": null}', FeedbackRequest)
    assert (request.prediction_id, request.text) == (None, "t")


def event(body: str | None, *, encoded: bool = False) -> APIGatewayProxyEventV2:
    return APIGatewayProxyEventV2({"version": "2.0", "body": body, "isBase64Encoded": encoded})


def test_a_base64_body_is_decoded_then_parsed() -> None:
    body = base64.b64encode('{"text": "déjà vu"}'.encode()).decode()
    assert parse_event(event(body, encoded=True), ClassifyRequest).text == "déjà vu"


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (base64.b64encode(b'{"text": "\xe9"}').decode(), "invalid_json", "not valid UTF-8"),
        ("not base64!", "invalid_json", "not base64"),
        (base64.b64encode(b" " * (MAX_BODY_BYTES + 1)).decode(), "body_too_large", "exceeds"),
    ],
)
def test_a_bad_base64_body_is_refused_where_powertools_decoded_body_would_raise(
    body: str, code: str, message: str
) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_event(event(body, encoded=True), ClassifyRequest)
    assert caught.value.code == code and message in str(caught.value)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (TextTooLarge("text is 10002 bytes"), 413, "text_too_large"),
        (InvalidField("x", field="text"), 400, "invalid_request"),
        (InvalidField("x", code="no_such_code"), 400, "invalid_request"),
        (ModelNotReady("none yet"), 503, "model_not_ready"),
        (ComprehendThrottled("ClassifyDocument: Throttling: secret detail"), 429, "throttled"),
        (ServiceUnavailable("DetectEntities: arn:aws:comprehend:secret"), 503, "service_unavailable"),
        (ComprehendRequestRejected("arn:aws:comprehend:secret"), 500, "internal_error"),
        (KeyError("secret"), 500, "internal_error"),
    ],
)
def test_every_error_has_one_shape_and_no_internals(error: Exception, status: int, code: str) -> None:
    assert error_body(error)[0] == status
    body = error_body(error)[1]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code and STATUS[code] == status
    assert "secret" not in json.dumps(body)


def test_the_readme_table_lists_every_error_code_with_its_status() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", readme, re.MULTILINE)
    assert dict((code, int(status)) for code, status in rows) == STATUS
