"""Errors injected into the next calls of a local service's operations (tests, demos of the failure paths).

``fail(operation, code, message, times)``: the next ``times`` calls of ``operation`` raise the service's
error ``code``; ``throttle(operation, times)``: the same with the service's throttling error; ``reset()``
forgets them; the service calls ``check(operation)`` before running each request.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import ClassVar


class CallFaults:
    """The errors waiting for the next calls of each operation; subclasses name the service's errors."""

    error_for_code: ClassVar[Callable[[str, str], Exception]]
    """``(code, message)`` → the service's error."""
    throttling_code: ClassVar[str]

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, deque[Exception]] = {}

    def fail(self, operation: str, code: str, message: str = "Injected fault", times: int = 1) -> None:
        with self._lock:
            queue = self._calls.setdefault(operation, deque())
            queue.extend(type(self).error_for_code(code, message) for _ in range(times))

    def throttle(self, operation: str, times: int = 1, message: str = "Rate exceeded") -> None:
        self.fail(operation, self.throttling_code, message, times)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def check(self, operation: str) -> None:
        """Raise the next injected error for ``operation``, if any."""
        with self._lock:
            queue = self._calls.get(operation)
            error = queue.popleft() if queue else None
        if error is not None:
            raise error
