"""The local Comprehend-compatible HTTP service (JSON 1.1 protocol) and its runtime context.

boto3 and the AWS CLI talk to it unchanged through ``endpoint_url`` / ``AWS_ENDPOINT_URL_COMPREHEND``:
``POST /`` with ``X-Amz-Target: Comprehend_20171127.<Operation>`` and a JSON body; the answer is the
operation's output as JSON, or HTTP 400/500 with ``{"__type": "<Code>", "message": "..."}``. Signatures
are not verified.

Operations come from the registry (:mod:`local.comprehend.registry`), filled by the modules listed in
:data:`OPERATION_MODULES`; resources live in a :class:`~local.comprehend.store.ResourceStore` under
``state_dir``; slow work (training, jobs, endpoint provisioning) runs on background threads.
"""

from __future__ import annotations

import importlib
import logging
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local.comprehend import registry
from local.comprehend.common import parse_arn
from local.comprehend.errors import (
    ComprehendError,
    InternalServerException,
    InvalidRequestException,
    UnknownOperationException,
)
from local.comprehend.faults import Faults
from local.comprehend.store import ResourceStore
from local.comprehend.validation import validate_request
from local.httpserver import LocalService, Request, Resolver, Response, json_object

LOG = logging.getLogger("local.comprehend")

TARGET_PREFIX = "Comprehend_20171127."
CONTENT_TYPE = "application/x-amz-json-1.1"
OPERATION_MODULES: tuple[str, ...] = (
    "local.comprehend.endpoints",
    "local.comprehend.classifier",
    "local.comprehend.tags",
    "local.comprehend.language",
    "local.comprehend.recognizer",  # entity recognizers: optional until that module exists
)
OPTIONAL_MODULES = frozenset({"local.comprehend.recognizer"})


def load_operation_modules(modules: tuple[str, ...] = OPERATION_MODULES) -> None:
    """Import the operation modules so that they register their handlers (idempotent)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if name in OPTIONAL_MODULES and exc.name == name:
                continue
            raise


class ComprehendService(LocalService):
    """A local Amazon Comprehend (custom classification, and what other modules register).

    ``state_dir``: where resources (JSON) and models (files) persist; a new service on the same directory
    finds them again, and work that was in flight when the last one stopped ends IN_ERROR / FAILED.
    ``s3_client_factory``: returns the boto3 S3 client used to read training data and write outputs
    (default ``boto3.client("s3", region_name=region)``; under moto's ``mock_aws`` that reaches moto).
    ``min_docs_per_label``: the fewest training documents a label may have.
    ``async_delay_s``: seconds each asynchronous transition waits (0: as fast as the work allows).
    ``training_workers``: trainings that run at once (the others wait SUBMITTED).
    """

    def __init__(
        self,
        state_dir: Path | str,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        s3_client_factory: Callable[[], Any] | None = None,
        min_docs_per_label: int = 10,
        async_delay_s: float = 0.0,
        training_workers: int = 1,
        max_text_bytes: int = 10_000,
    ) -> None:
        load_operation_modules()
        super().__init__(s3_client_factory, {"region_name": region})
        self.state_dir = Path(state_dir)
        self.region = region
        self.account_id = account_id
        self.min_docs_per_label = min_docs_per_label
        self.async_delay_s = async_delay_s
        self.max_text_bytes = max_text_bytes
        self.faults = Faults()
        self.store = ResourceStore(self.state_dir)
        self.operations: dict[str, registry.Handler] = registry.OPERATIONS
        self._models: dict[str, Any] = {}
        self._models_lock = threading.Lock()
        self._stopping = threading.Event()
        self._training_pool = ThreadPoolExecutor(
            max(1, training_workers), thread_name_prefix="comprehend-train"
        )
        self._work_pool = ThreadPoolExecutor(4, thread_name_prefix="comprehend-work")
        for hook in registry.RESTART_HOOKS:
            hook(self)

    # --- lifecycle -----------------------------------------------------------------------------------
    thread_name = "comprehend-http"
    logger = LOG

    def _log_listening(self, url: str) -> None:
        LOG.info("local Comprehend listening on %s (state in %s)", url, self.state_dir)

    def stop(self) -> None:
        """Stop serving and wait for background work (queued work is cancelled)."""
        self._stopping.set()
        self._stop_serving()
        self._work_pool.shutdown(wait=True, cancel_futures=True)
        self._training_pool.shutdown(wait=True, cancel_futures=True)

    # --- what handlers use ---------------------------------------------------------------------------
    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def arn(self, resource_type: str, name: str, version: str | None = None) -> str:
        arn = f"arn:aws:comprehend:{self.region}:{self.account_id}:{resource_type}/{name}"
        return f"{arn}/version/{version}" if version else arn

    def submit(self, work: Callable[[], None], *, training: bool = False) -> Future[None]:
        """Run ``work`` on a background thread; exceptions are logged (the work records its own status)."""

        def run() -> None:
            try:
                work()
            except Exception:
                LOG.exception("background work failed")

        pool = self._training_pool if training else self._work_pool
        return pool.submit(run)

    def pause(self) -> bool:
        """Wait ``async_delay_s`` between two states; False when the service is stopping."""
        if self.async_delay_s > 0:
            return not self._stopping.wait(self.async_delay_s)
        return not self._stopping.is_set()

    def model(self, model_arn: str) -> Any:
        """The in-memory model for ``model_arn`` (loaded once through its kind's ``load_model``)."""
        with self._models_lock:
            cached = self._models.get(model_arn)
        if cached is not None:
            return cached
        resource_type = parse_arn(model_arn)["type"] or ""
        kind = registry.MODEL_KINDS.get(resource_type)
        if kind is None:
            raise InvalidRequestException(f"Unsupported model ARN: {model_arn}")
        loaded = kind.load_model(self, model_arn)
        with self._models_lock:
            self._models[model_arn] = loaded
        return loaded

    def forget_model(self, model_arn: str) -> None:
        with self._models_lock:
            self._models.pop(model_arn, None)

    # --- dispatch ------------------------------------------------------------------------------------
    def dispatch(self, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """Run one request; returns (HTTP status, JSON body)."""
        try:
            if not target.startswith(TARGET_PREFIX):
                raise UnknownOperationException(f"Unknown target: {target!r}")
            name = target[len(TARGET_PREFIX) :]
            handler = self.operations.get(name)
            if handler is None:
                raise UnknownOperationException(f"The local Comprehend service does not implement {name}")
            request = json_object(body, InvalidRequestException)
            validate_request(name, request)
            self.faults.check(name)
            return 200, handler(self, request)
        except ComprehendError as err:
            return err.status, err.body()
        except Exception as exc:
            LOG.error("internal error: %s", traceback.format_exc())
            internal = InternalServerException(f"Internal error: {exc}")
            return internal.status, internal.body()


# --- HTTP: Comprehend's JSON protocol posts every operation to "/" ---------------------------------------
app: Resolver[ComprehendService] = Resolver()


@app.post("/<path:path>")
def run_operation(service: ComprehendService, request: Request) -> Response:
    status, payload = service.dispatch(request.headers.get("X-Amz-Target", ""), request.body)
    return Response.json(status, payload, content_type=CONTENT_TYPE)


@app.get("/<path:path>")
def health(service: ComprehendService, request: Request) -> Response:
    """A health check for scripts: GET / → {"status": "ok"}."""
    return Response.json(200, {"status": "ok"}, content_type=CONTENT_TYPE)


ComprehendService.resolver = app
