"""The annotation tool's routes (under ``/annotate``): a static page (``web/annotate/``) and its JSON API.

The page (plain JavaScript, no build step) lists the loops waiting for the annotator named on the page,
renders one (entity spans over the text, an adjudication's versions side by side, or a classifier's
choices) and posts the answer. Every answer goes through :meth:`A2IService.complete`, so the checks are
the server's: offsets and types validated, a loop answered or ended meanwhile answered 409 with a
message, never a silent overwrite. Offline there is no sign-in: the annotator types their name (the
``workerId`` of ``output.json``); on AWS the worker template gets it from A2I's own workforce login.

    GET  /annotate                      the page (annotate.js, annotate.css beside it)
    GET  /annotate/api/tasks?worker=W   the loops in progress W has not answered
    GET  /annotate/api/tasks/<loop>     one loop: kind, input, workers required and answered
    POST /annotate/api/tasks/<loop>     {"worker", "answers", "opened"} → {"status", "output"}
    GET  /annotate/api/quality          each annotator's gold accuracy, documents and held status
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from comprehend_al.annotation.gold import DEFAULT_MIN_GOLD, DEFAULT_THRESHOLD, Annotators
from comprehend_al.aws.s3 import Bucket
from comprehend_al.errors import WorkflowError

from local.a2i.errors import ConflictException, ResourceNotFoundException, ValidationException
from local.a2i.store import HumanLoop, utc_now
from local.httpserver import Request, Response, Router
from local.web import read_asset

PAGE = "annotate"  # web/annotate/
HIDDEN = ("loops", "agreement_f1_sum", "agreement_kappa_sum")  # running sums: not for the page
ASSETS = {"annotate.js": "text/javascript; charset=utf-8", "annotate.css": "text/css; charset=utf-8"}


class AnnotationDesk(Protocol):
    """What the annotation page needs of the service."""

    output_bucket: str
    s3: Any

    def in_progress(self) -> list[HumanLoop]: ...

    def workers_required(self, document: Any) -> int: ...

    def answered_by(self, loop: HumanLoop) -> list[str]: ...

    def complete(
        self,
        loop_name: str,
        answers: dict[str, Any],
        worker_id: str = ...,
        *,
        acceptance_time: datetime | None = None,
    ) -> str: ...

    def describe(self, name: str) -> HumanLoop: ...


router: Router[Callable[[AnnotationDesk, Request], Response]] = Router()


def _error(status: int, message: str) -> Response:
    return Response.json(status, {"message": message})


def _kind(document: Any) -> str:
    kind = document.get("kind") if isinstance(document, dict) else None
    return kind if kind in ("entities", "adjudication") else "classifier"


def _summary(desk: AnnotationDesk, loop: HumanLoop) -> dict[str, Any]:
    document = loop.input_document()
    items = document.get("items") if isinstance(document, dict) else None
    return {
        "name": loop.name,
        "kind": _kind(document),
        "status": loop.status,
        "created": loop.creation_time,
        "items": len(items) if isinstance(items, list) else 0,
        "required": desk.workers_required(document),
        "answeredBy": desk.answered_by(loop),
    }


@router.get("/")
def annotate_page(desk: AnnotationDesk, request: Request) -> Response:
    return Response.html(200, read_asset(PAGE, "index.html"))


@router.get("/<asset>")
def asset(desk: AnnotationDesk, request: Request) -> Response:
    name = request.params["asset"]
    if name not in ASSETS:
        return Response.text(404, "Not Found")
    return Response.text(200, read_asset(PAGE, name), ASSETS[name])


@router.get("/api/tasks")
def tasks(desk: AnnotationDesk, request: Request) -> Response:
    worker = request.query_params().get("worker", "").strip()
    waiting = [loop for loop in desk.in_progress() if worker not in desk.answered_by(loop)]
    return Response.json(200, {"worker": worker, "tasks": [_summary(desk, loop) for loop in waiting]})


@router.get("/api/tasks/<loop>")
def task(desk: AnnotationDesk, request: Request) -> Response:
    try:
        loop = desk.describe(request.params["loop"])
    except ResourceNotFoundException as err:
        return _error(404, err.message)
    return Response.json(200, {**_summary(desk, loop), "input": loop.input_document()})


@router.post("/api/tasks/<loop>")
def answer(desk: AnnotationDesk, request: Request) -> Response:
    """Record one annotator's answer; 400 (bad answer), 404 (no loop), 409 (stale page)."""
    name = request.params["loop"]
    try:
        body = json.loads(request.body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _error(400, f"the request body is not JSON: {exc}")
    if not isinstance(body, dict):
        return _error(400, "the request body must be a JSON object")
    worker = body.get("worker")
    if not isinstance(worker, str) or not worker.strip() or len(worker) > 128:
        return _error(400, "name the annotator (worker: 1-128 characters)")
    answers = body.get("answers")
    if not isinstance(answers, dict):
        return _error(400, "answers must be an object: item id → spans (or label)")
    accepted: datetime | None = None
    with contextlib.suppress(KeyError, ValueError, TypeError, OverflowError, OSError):
        accepted = datetime.fromtimestamp(int(body["opened"]) / 1000, tz=utc_now().tzinfo)
    try:
        uri = desk.complete(name, answers, worker.strip(), acceptance_time=accepted)
    except ResourceNotFoundException as err:
        return _error(404, err.message)
    except ConflictException as err:
        return _error(409, f"{err.message}. The page is stale: your answer was not recorded; reload.")
    except ValidationException as err:
        return _error(400, err.message)
    return Response.json(200, {"status": "Completed" if uri else "InProgress", "output": uri or None})


@router.get("/api/quality")
def quality(desk: AnnotationDesk, request: Request) -> Response:
    try:
        records = Annotators(Bucket(desk.output_bucket, desk.s3)).all()
    except WorkflowError as err:
        return _error(503, f"cannot read the annotators' records: {err}")
    return Response.json(
        200,
        {
            "threshold": DEFAULT_THRESHOLD,
            "minGold": DEFAULT_MIN_GOLD,
            "annotators": [
                {
                    **{k: v for k, v in record.as_dict().items() if k not in HIDDEN},
                    "held": record.held(DEFAULT_THRESHOLD, DEFAULT_MIN_GOLD),
                }
                for record in records
            ],
        },
    )
