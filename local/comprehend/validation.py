"""Request validation against botocore's Comprehend service model (required members, enums, lengths).

The real service rejects such requests before any work; boto3 checks most of this client-side, but the
AWS CLI with ``--cli-input-json`` or raw HTTP callers do not.
"""

from __future__ import annotations

import functools
from typing import Any

from local.comprehend.errors import InvalidRequestException


@functools.cache
def _service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("comprehend")


def _check(shape: Any, value: Any, path: str) -> None:
    type_name = shape.type_name
    if type_name == "structure":
        if not isinstance(value, dict):
            raise InvalidRequestException(f"Invalid value at '{path}': expected an object")
        for name in shape.required_members:
            if value.get(name) is None:
                raise InvalidRequestException(
                    f"1 validation error detected: Value null at '{path}{name}' failed to satisfy "
                    "constraint: Member must not be null"
                )
        for name, member in value.items():
            if name in shape.members and member is not None:
                _check(shape.members[name], member, f"{path}{name}.")
    elif type_name == "list":
        if not isinstance(value, list):
            raise InvalidRequestException(f"Invalid value at '{path.rstrip('.')}': expected a list")
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path.rstrip('.')}[{i}].")
    elif type_name == "string":
        where = path.rstrip(".")
        if not isinstance(value, str):
            raise InvalidRequestException(f"Invalid value at '{where}': expected a string")
        enum = shape.enum
        if enum and value not in enum:
            raise InvalidRequestException(
                f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
        max_len = shape.metadata.get("max")
        if max_len is not None and len(value) > max_len:
            raise InvalidRequestException(
                f"1 validation error detected: Value at '{where}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {max_len}"
            )
    elif type_name in ("integer", "long") and (not isinstance(value, int) or isinstance(value, bool)):
        raise InvalidRequestException(f"Invalid value at '{path.rstrip('.')}': expected an integer")


def validate_request(operation: str, request: dict[str, Any]) -> None:
    """Raise InvalidRequestException when ``request`` violates ``operation``'s input shape."""
    try:
        op_model = _service_model().operation_model(operation)
    except Exception:  # an operation botocore does not know: nothing to check against
        return
    if op_model.input_shape is not None:
        _check(op_model.input_shape, request, "")
