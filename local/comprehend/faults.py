"""In-process fault injection for tests: throttling, errors, failed endpoints, jobs and trainings."""

from __future__ import annotations

import threading
from collections import deque

from local.comprehend.errors import ComprehendError, TooManyRequestsException, error_for_code


class Faults:
    """Failures to inject into the next calls or the next asynchronous work.

    ``throttle(op, times)``: the next ``times`` calls of ``op`` fail with TooManyRequestsException.
    ``fail_operation(op, code, message, times)``: the next calls of ``op`` fail with any error code.
    ``fail_next_endpoint(reason)``: the next endpoint created or updated ends FAILED with ``reason``.
    ``fail_next_job(reason)``: the next asynchronous job ends FAILED with ``reason``.
    ``fail_next_training(reason)``: the next training ends IN_ERROR with ``reason``.
    ``reset()`` clears everything.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, deque[ComprehendError]] = {}
        self._endpoint: deque[str] = deque()
        self._job: deque[str] = deque()
        self._training: deque[str] = deque()

    def throttle(self, operation: str, times: int = 1, message: str = "Rate exceeded") -> None:
        for _ in range(times):
            self._push(operation, TooManyRequestsException(message))

    def fail_operation(
        self, operation: str, code: str, message: str = "Injected fault", times: int = 1
    ) -> None:
        for _ in range(times):
            self._push(operation, error_for_code(code, message))

    def fail_next_endpoint(self, reason: str = "Injected endpoint failure") -> None:
        with self._lock:
            self._endpoint.append(reason)

    def fail_next_job(self, reason: str = "Injected job failure") -> None:
        with self._lock:
            self._job.append(reason)

    def fail_next_training(self, reason: str = "Injected training failure") -> None:
        with self._lock:
            self._training.append(reason)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._endpoint.clear()
            self._job.clear()
            self._training.clear()

    # --- used by the service -------------------------------------------------------------------------
    def _push(self, operation: str, error: ComprehendError) -> None:
        with self._lock:
            self._calls.setdefault(operation, deque()).append(error)

    def check_call(self, operation: str) -> None:
        """Raise the next injected error for ``operation``, if any."""
        with self._lock:
            queue = self._calls.get(operation)
            error = queue.popleft() if queue else None
        if error is not None:
            raise error

    def take_endpoint_failure(self) -> str | None:
        with self._lock:
            return self._endpoint.popleft() if self._endpoint else None

    def take_job_failure(self) -> str | None:
        with self._lock:
            return self._job.popleft() if self._job else None

    def take_training_failure(self) -> str | None:
        with self._lock:
            return self._training.popleft() if self._training else None
