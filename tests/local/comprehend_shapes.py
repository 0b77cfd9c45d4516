"""Check a raw JSON response against botocore's output shape of a Comprehend operation."""

from __future__ import annotations

import functools
from typing import Any

import botocore.session


@functools.cache
def service_model() -> Any:
    return botocore.session.get_session().get_service_model("comprehend")


def shape_errors(shape: Any, value: Any, path: str = "$") -> list[str]:
    """Every way ``value`` departs from ``shape``: missing required or unknown members, wrong types."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected object, got {type(value).__name__}"]
        errors = [
            f"{path}.{name}: required member missing" for name in shape.required_members if name not in value
        ]
        for name, member in value.items():
            if name not in shape.members:
                errors.append(f"{path}.{name}: unknown member of {shape.name}")
            else:
                errors.extend(shape_errors(shape.members[name], member, f"{path}.{name}"))
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected list, got {type(value).__name__}"]
        return [e for i, item in enumerate(value) for e in shape_errors(shape.member, item, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected map"]
        return [e for k, v in value.items() for e in shape_errors(shape.value, v, f"{path}[{k!r}]")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected string, got {type(value).__name__}"]
        if shape.enum and value not in shape.enum:
            return [f"{path}: {value!r} not in enum {shape.enum}"]
        return []
    if kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected integer, got {value!r}"]
    if kind in ("float", "double"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected number, got {value!r}"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected boolean"]
    if kind == "timestamp":  # the JSON protocol sends epoch seconds
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected epoch timestamp, got {value!r}"]
    if kind == "blob":
        return [] if isinstance(value, str) else [f"{path}: expected base64 string"]
    return [f"{path}: unhandled shape type {kind}"]


def output_errors(operation: str, body: dict[str, Any]) -> list[str]:
    shape = service_model().operation_model(operation).output_shape
    if shape is None:
        return [] if body == {} else [f"{operation} has no output but returned {body}"]
    return shape_errors(shape, body)
