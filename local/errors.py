"""What the local services' errors share: a base class, and error classes made from a table.

A service lists its error codes with their HTTP status in a table and gets one subclass of its base per
row, named after the code (the class name is what boto3 reports as the error code)::

    STATUS_BY_CODE = {"ValidationException": 400, "ResourceNotFoundException": 404}
    ERRORS = error_classes(A2IError, STATUS_BY_CODE)

    def __getattr__(name: str) -> type[A2IError]:   # ``from ….errors import ValidationException``
        return find_error(ERRORS, name, __name__)

The base class gives the message shape on the wire (``body()``), the table each code's status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar, cast


class ServiceError(Exception):
    """An error a local service answers with HTTP ``status``; ``code`` names it on the wire."""

    code: ClassVar[str]
    status: ClassVar[int] = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        raise NotImplementedError


E = TypeVar("E", bound=ServiceError)


def error_classes(base: type[E], statuses: Mapping[str, int]) -> dict[str, type[E]]:
    """One subclass of ``base`` per ``code → HTTP status`` row, named ``code``, in ``base``'s module."""
    return {
        code: cast(
            type[E],
            type(
                code,
                (base,),
                {"code": code, "status": status, "__module__": base.__module__, "__qualname__": code},
            ),
        )
        for code, status in statuses.items()
    }


def find_error(errors: Mapping[str, type[E]], name: str, module: str) -> type[E]:
    """A module ``__getattr__`` (PEP 562) over the generated classes: AttributeError for other names."""
    try:
        return errors[name]
    except KeyError:
        raise AttributeError(f"module {module!r} has no attribute {name!r}") from None
