"""In-process fault injection for tests: throttling, errors, failed endpoints, jobs and trainings."""

from __future__ import annotations

import threading
from collections import deque

from local.comprehend.errors import error_for_code
from local.faults import CallFaults


class Faults(CallFaults):
    """Failures to inject into the next calls or the next asynchronous work.

    ``throttle(op, times)``: the next ``times`` calls of ``op`` fail with TooManyRequestsException.
    ``fail_operation(op, code, message, times)`` (or ``fail``): the next calls of ``op`` fail with any code.
    ``fail_next_endpoint(reason)``: the next endpoint created or updated ends FAILED with ``reason``.
    ``fail_next_job(reason)``: the next asynchronous job ends FAILED with ``reason``.
    ``fail_next_training(reason)``: the next training ends IN_ERROR with ``reason``.
    ``reset()`` clears everything.
    """

    error_for_code = error_for_code
    throttling_code = "TooManyRequestsException"
    fail_operation = CallFaults.fail

    def __init__(self) -> None:
        super().__init__()
        self._async_lock = threading.Lock()
        self._endpoint: deque[str] = deque()
        self._job: deque[str] = deque()
        self._training: deque[str] = deque()

    def fail_next_endpoint(self, reason: str = "Injected endpoint failure") -> None:
        self._put(self._endpoint, reason)

    def fail_next_job(self, reason: str = "Injected job failure") -> None:
        self._put(self._job, reason)

    def fail_next_training(self, reason: str = "Injected training failure") -> None:
        self._put(self._training, reason)

    def reset(self) -> None:
        super().reset()
        with self._async_lock:
            self._endpoint.clear()
            self._job.clear()
            self._training.clear()

    # --- used by the service -------------------------------------------------------------------------
    def take_endpoint_failure(self) -> str | None:
        return self._take(self._endpoint)

    def take_job_failure(self) -> str | None:
        return self._take(self._job)

    def take_training_failure(self) -> str | None:
        return self._take(self._training)

    def _put(self, queue: deque[str], reason: str) -> None:
        with self._async_lock:
            queue.append(reason)

    def _take(self, queue: deque[str]) -> str | None:
        with self._async_lock:
            return queue.popleft() if queue else None
