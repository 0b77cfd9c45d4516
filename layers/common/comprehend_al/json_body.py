"""A request body, checked before it is trusted: the JSON object it holds, or ``InvalidField`` saying why not.

The checks, in order (each failure a 4xx naming what is wrong): size (at most ``MAX_BODY_BYTES``, before
anything is decoded: 413 ``body_too_large``), base64 when API Gateway encoded the body, UTF-8, nesting at
most ``MAX_DEPTH`` deep (checked before ``json`` recurses), JSON syntax, no duplicate key, an object at the
top, no ``NaN``/``Infinity``, no number beyond ``MAX_NUMBER_DIGITS`` digits or a float's range, no
unpaired surrogate in a key or string (400 ``invalid_json``, with the top-level ``field`` where there is
one). The route's pydantic model comes next (:mod:`comprehend_al.api`).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from comprehend_al.errors import InvalidField

MAX_BODY_BYTES = 64 * 1024  # a 10,000-byte text even fully \u-escaped, with room for the other fields
MAX_DEPTH = 16  # every request is an object holding strings or a list of strings: depth 2
MAX_NUMBER_DIGITS = 100  # no field takes a number; a bound keeps int() of a huge literal cheap
MAX_FIELD_CHARS = 80  # a field name echoed in an error is cut to this length
_TOKENS = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


def event_body(event: BaseProxyEvent) -> str | bytes | None:
    """The raw body of an API Gateway event, base64-decoded when flagged (its size bounded first).

    Reads ``event.body``, not Powertools' ``decoded_body``, which raises on invalid base64 or UTF-8."""
    body: str | bytes | None = event.body
    if isinstance(body, str) and body and event.is_base64_encoded:
        if len(body) > (MAX_BODY_BYTES + 2) // 3 * 4:
            raise _too_large()
        try:
            body = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise _invalid("the request body is flagged base64-encoded but is not base64") from error
    return body


def load_json(body: str | bytes | None) -> dict[str, Any]:
    """The body as a JSON object, after the checks of the module docstring (``InvalidField`` otherwise)."""
    if body is None:
        raise _invalid("the request body is empty: send a JSON object")
    if len(body) > MAX_BODY_BYTES:  # characters ≤ UTF-8 bytes: a cheap first bound
        raise _too_large()
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        if isinstance(body, str) and len(body.encode("utf-8")) > MAX_BODY_BYTES:
            raise _too_large()
    except UnicodeError as error:
        position = getattr(error, "start", 0)
        raise _invalid(f"the request body is not valid UTF-8 (at position {position})") from error
    if not text.strip():
        raise _invalid("the request body is empty: send a JSON object")
    _check_depth(text)
    try:
        data = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_int=_int,
            parse_float=_float,
        )
    except RecursionError as error:  # _check_depth should have stopped it: a second guard
        raise _invalid(f"the request body is nested deeper than {MAX_DEPTH} levels") from error
    except ValueError as error:
        raise _invalid(f"the request body is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise _invalid(f"the request body must be a JSON object, not {_json_type(data)}")
    _check_values(data)
    return data


def _check_depth(text: str) -> None:
    """Brackets outside strings nested deeper than ``MAX_DEPTH`` (before ``json`` recurses into them).

    One linear pass over the characters that matter (an escape pair, a quote, a bracket)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth, in_string = 0, False
    for token in _TOKENS.findall(text):
        if token == '"':
            in_string = not in_string
        elif in_string or len(token) == 2:
            continue
        elif token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _invalid(f"the request body is nested deeper than {MAX_DEPTH} levels")
        else:
            depth = max(depth - 1, 0)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _invalid(f"duplicate key {shown_name(key)!r} in the request body", field=shown_name(key))
        data[key] = value
    return data


class _BadNumber(str):
    """A number no field could take (``NaN``, ``Infinity``, too many digits, beyond a float): reported with
    its field by :func:`_check_values` rather than by ``json``, which does not know where it is."""


def _constant(name: str) -> _BadNumber:
    return _BadNumber(f"{name} is not a JSON number")


def _int(literal: str) -> int | _BadNumber:
    if len(literal.lstrip("-")) > MAX_NUMBER_DIGITS:
        return _BadNumber(f"a number of more than {MAX_NUMBER_DIGITS} digits")
    return int(literal)


def _float(literal: str) -> float | _BadNumber:
    value = float(literal) if len(literal) <= 2 * MAX_NUMBER_DIGITS else math.inf
    return value if math.isfinite(value) else _BadNumber("a number out of a float's range")


def _check_values(data: Any) -> None:
    """No bad number; every key and string encodes as UTF-8 (a ``\\ud800`` escape makes one that does not)."""
    pending: list[tuple[str | None, Any]] = [(None, data)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, _BadNumber):
            raise _invalid(f"{where or 'the request body'}: {value}", field=where)
        if isinstance(value, dict):
            for key, item in value.items():
                field_name = where or shown_name(key)
                _check_string(key, field_name)
                pending.append((field_name, item))
        elif isinstance(value, list):
            pending.extend((where, item) for item in value)
        elif isinstance(value, str):
            _check_string(value, where)


def _check_string(value: str, where: str | None) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        message = f"{where or 'the request body'}: not valid Unicode (unpaired surrogate at {error.start})"
        raise _invalid(message, field=where) from error


def _json_type(value: Any) -> str:
    if isinstance(value, _BadNumber):
        return "a number"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def shown_name(name: str) -> str:
    name = name.encode("utf-8", "backslashreplace").decode("utf-8")
    return name if len(name) <= MAX_FIELD_CHARS else name[: MAX_FIELD_CHARS - 1] + "…"


def _invalid(message: str, *, field: str | None = None) -> InvalidField:
    return InvalidField(message, field=field, code="invalid_json")


def _too_large() -> InvalidField:
    return InvalidField(f"the request body exceeds {MAX_BODY_BYTES} bytes", code="body_too_large")
