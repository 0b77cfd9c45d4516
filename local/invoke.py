"""One function, one sample event, in-process on the offline stack: ``sam local invoke`` without Docker.

``comprehend-al invoke GetModelStatusFunction --event events/get_model_status/training.json`` (what
``make invoke FN=… EVENT=…`` runs where Docker is not available) deploys ``template.yaml`` into moto, starts
the local Comprehend service, and runs the function's real handler with the sample event and the function's
environment from the template (the offline stack's bucket, tables and topic; the template's ``LogLevel``).
Like ``sam local invoke`` it prints the function's structured logs on stderr and its response on stdout.

Sample events are what the state machine, API Gateway, EventBridge or A2I send in an imagined deployment:
they name a bucket, model versions, jobs and endpoints. Before the invoke, :func:`seed` makes the offline
stack hold what the event names, so the function does its real work rather than fail on a missing resource:

- the event's bucket name becomes the offline stack's (moto names it at random);
- the fixed test sets and the training dataset an event names are written (generated tickets, entities);
- a model version, test job or endpoint an event names is created in the local Comprehend service under that
  very name (``CreateDocumentClassifier`` with the event's model name and version, ...), and left in the state
  the event expects to find (a model still TRAINING for ``training.json``, TRAINED for ``trained.json``);
- HTTP API events (classify, feedback, analyze) get an active classifier and entity recognizer (trained once
  per session) and, for feedback by prediction id, a stored prediction with that id.

What cannot be seeded is answered by the function itself: a typed error (a class of
``comprehend_al/errors.py``, the name Step Functions would see) is its honest answer, printed as Lambda
prints an error payload, with exit status 1.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.stack import ROOT, load_template


# --- functions and their sample events -----------------------------------------------------------------
def functions(template: dict[str, Any] | None = None) -> dict[str, str]:
    """Logical id → folder (``functions/<folder>/``, its CodeUri) of each function of the template."""
    template = template or load_template()
    return {
        logical_id: Path(resource["Properties"]["CodeUri"]).name
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def resolve(name: str, template: dict[str, Any] | None = None) -> str:
    """The logical id of a function named by its logical id, its step name or its folder (any case)."""
    known = functions(template)

    def plain(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", text.lower()).removesuffix("function")

    for logical_id, folder in known.items():
        if plain(name) in {plain(logical_id), plain(folder)}:
            return logical_id
    raise LookupError(f"no function {name!r} in template.yaml; one of: {', '.join(sorted(known))}")


def sample_events(logical_id: str, template: dict[str, Any] | None = None) -> list[Path]:
    folder = ROOT / "events" / functions(template)[logical_id]
    return sorted(folder.glob("*.json"))


def every_sample_event(template: dict[str, Any] | None = None) -> list[tuple[str, Path]]:
    """(logical id, event file) for every sample event of every function."""
    return [(fn, event) for fn in sorted(functions(template)) for event in sample_events(fn, template)]


# --- the invocation ----------------------------------------------------------------------------------------
@dataclass
class Invocation:
    function: str
    event: Path
    response: Any  # the handler's return value, or Lambda's error payload when it raised
    error: str | None  # "Unhandled" when the handler raised (Lambda's FunctionError)
    logs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    seeded: list[str] = field(default_factory=list)

    @property
    def error_type(self) -> str | None:
        return str(self.response.get("errorType")) if self.error and isinstance(self.response, dict) else None


class _Capture(io.TextIOBase):
    """A stream that keeps every line written to it (the function's log output)."""

    def __init__(self, echo: Any = None) -> None:
        self.lines: list[str] = []
        self.echo = echo
        self._partial = ""

    def write(self, text: str) -> int:
        if self.echo is not None:
            self.echo.write(text)
            self.echo.flush()
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        self.lines += [line for line in complete if line]
        return len(text)


@contextmanager
def _function_logs(level: str, echo: Any = None) -> Iterator[_Capture]:
    """Route the layer's Powertools logger to a capture at ``level`` for the length of one invoke."""
    from comprehend_al.observability import logger

    capture = _Capture(echo)
    handler = logger.registered_handler
    previous_level = logger.log_level
    previous_stream = handler.setStream(capture) if isinstance(handler, logging.StreamHandler) else None
    logger.setLevel(level)
    try:
        yield capture
    finally:
        logger.setLevel(previous_level)
        if isinstance(handler, logging.StreamHandler) and previous_stream is not None:
            handler.setStream(previous_stream)


class Invoker:
    """Invokes functions of one running offline stack (see :func:`offline`)."""

    def __init__(self, env: Any, template: dict[str, Any]) -> None:
        from local.invoke_seed import Seeder

        self.env = env
        self.template = template
        self.seeder = Seeder(env)

    def log_level(self, logical_id: str) -> str:
        spec = self.env.router.resolve(logical_id)
        return spec.environment.get("POWERTOOLS_LOG_LEVEL", "INFO")

    def prepare(self, function: str, event_path: Path, *, seed: bool = True) -> tuple[str, Any, list[str]]:
        """(logical id, event, what was seeded): the event read and what it names created offline."""
        logical_id = resolve(function, self.template)
        event = json.loads(event_path.read_text())
        return logical_id, event, self.seeder.seed(logical_id, event) if seed else []

    def call(self, logical_id: str, event: Any, *, echo_logs: Any = None, log_level: str = "") -> Invocation:
        """Run the handler with ``event`` and the function's environment; capture its logs."""
        level = log_level or self.log_level(logical_id)
        started = time.monotonic()
        with _function_logs(level, echo_logs) as logs:
            response, error = self.env.router.invoke(logical_id, event)
        return Invocation(logical_id, Path(), response, error, logs.lines, time.monotonic() - started)

    def invoke(
        self, function: str, event_path: Path, *, seed: bool = True, log_level: str = ""
    ) -> Invocation:
        logical_id, event, seeded = self.prepare(function, event_path, seed=seed)
        result = self.call(logical_id, event, log_level=log_level)
        result.event, result.seeded = event_path, seeded
        return result


@contextmanager
def offline(state_dir: Path) -> Iterator[Invoker]:
    """The offline stack (moto, local Comprehend, local A2I) ready to invoke functions in."""
    from local.stack import running

    with running(state_dir / "comprehend", review=True) as env:
        yield Invoker(env, env.stack.template)
