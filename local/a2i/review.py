"""The reviewer's web page: server-rendered HTML, a little CSS, no JavaScript; its routes.

A loop's ``InputContent`` is read generically: ``{"items": [{"id", "text", "scores": [{"Name", "Score"}]}],
"labels": [...], ...}``. Each item gets one radio group named ``label-<id>`` offering the loop's ``labels``
(never a built-in list); the other top-level fields are shown as plain facts. Everything that comes from
the input is HTML-escaped. The markup is ``web/review/review.html``, the style ``web/review/review.css``.

:data:`router` serves the page (included under ``/review`` by :mod:`local.a2i.server`): ``GET /review``
lists the loops in progress with one form each, ``POST /review/<loop>`` records an answer through the
service's :meth:`~ReviewDesk.complete`, ``GET /review/review.css`` is the stylesheet.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from string import Template
from typing import Any, Protocol
from urllib.parse import quote

from comprehend_al.annotation.consolidate import loop_kind

from local.a2i.errors import ResourceNotFoundException, ValidationException
from local.a2i.store import HumanLoop, utc_now
from local.httpserver import Request, Response, Router
from local.web import read_asset, templates

LOG = logging.getLogger("local.a2i")

ANSWER_PREFIX = "label-"
TOP_SCORES = 5  # bars shown per item: the model's most likely labels
PAGE = "review"  # web/review/


@dataclass(frozen=True)
class ReviewItem:
    """One thing to label: its id (a string), its text and the model's scores, best first."""

    id: str
    text: str
    scores: tuple[tuple[str, float], ...]

    @property
    def field(self) -> str:
        return f"{ANSWER_PREFIX}{self.id}"


def review_items(document: Any) -> list[ReviewItem]:
    """The items of a loop's input, in input order; ``[]`` when it has none."""
    if not isinstance(document, dict):
        return []
    raw = document.get("items")
    if raw is None and "text" in document:  # a single item without the list around it
        raw = [document]
    if not isinstance(raw, list):
        return []
    items = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            entry = {"text": entry}
        item_id = entry.get("id", index)
        items.append(
            ReviewItem(
                id=str(item_id), text=_text(entry.get("text", "")), scores=_scores(entry.get("scores"))
            )
        )
    return items


def review_labels(document: Any) -> list[str]:
    """The label choices of a loop (``labels`` in the input), in input order, without duplicates."""
    raw = document.get("labels") if isinstance(document, dict) else None
    if not isinstance(raw, list):
        return []
    return list(dict.fromkeys(str(label) for label in raw))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _scores(raw: Any) -> tuple[tuple[str, float], ...]:
    if not isinstance(raw, list):
        return ()
    scores = []
    for entry in raw:
        if isinstance(entry, dict) and "Name" in entry:
            try:
                scores.append((str(entry["Name"]), float(entry.get("Score", 0.0))))
            except (TypeError, ValueError):
                continue
    return tuple(sorted(scores, key=lambda pair: -pair[1]))


# --- pages ---------------------------------------------------------------------------------------------
def _parts() -> dict[str, Template]:
    return templates(PAGE, "review.html")


def page(title: str, body: str, parts: dict[str, Template] | None = None) -> str:
    return (parts or _parts())["page"].substitute(title=escape(title), body=body) + "\n"


def review_page(
    loops: list[HumanLoop], *, opened_ms: int, notice: str | None = None, error: str | None = None
) -> str:
    """The list of loops waiting for a person, one form each."""
    parts = _parts()
    notices = [
        parts[kind].substitute(text=escape(text))
        for kind, text in (("notice", notice), ("error", error))
        if text
    ]
    if not loops:
        notices.append(parts["nothing"].template)
    body = parts["list"].substitute(
        count=len(loops),
        plural="s" if len(loops) != 1 else "",
        notices="".join(notices),
        loops="".join(_loop_form(parts, loop, opened_ms) for loop in loops),
    )
    return page("Human review", body, parts)


def message_page(title: str, message: str) -> str:
    parts = _parts()
    return page(title, parts["message"].substitute(title=escape(title), message=escape(message)), parts)


def _loop_form(parts: dict[str, Template], loop: HumanLoop, opened_ms: int) -> str:
    document = loop.input_document()
    items = review_items(document)
    labels = review_labels(document)
    name = escape(loop.name)
    facts = [("flow", loop.flow_name), ("created", loop.creation_time)]
    if isinstance(document, dict):
        facts.extend(
            (str(key), value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
            for key, value in document.items()
            if key not in ("items", "labels", "text", "scores", "id") and not isinstance(value, dict | list)
        )
    if items:
        content = "".join(
            _item_fieldset(parts, item, n, len(items), labels) for n, item in enumerate(items, 1)
        )
    else:
        content = parts["no-items"].substitute(
            document=escape(json.dumps(document, indent=2, ensure_ascii=False))
        )
    return parts["loop"].substitute(
        name=name,
        facts="".join(parts["fact"].substitute(key=escape(key), value=escape(value)) for key, value in facts),
        action=quote(loop.name),
        opened=opened_ms,
        items=content,
        submit=parts["submit"].substitute(name=name) if items else "",
    )


def _item_fieldset(
    parts: dict[str, Template], item: ReviewItem, number: int, count: int, labels: list[str]
) -> str:
    scores = "".join(
        parts["score"].substitute(
            label=escape(label), width=f"{max(0.0, min(1.0, score)) * 100:.1f}", score=f"{score:.3f}"
        )
        for label, score in item.scores[:TOP_SCORES]
    )
    field = escape(item.field)
    if labels:
        choices = "".join(
            parts["choice"].substitute(field=field, value=escape(label), label=escape(label))
            for label in labels
        )
    else:  # no label set in the input: the reviewer types one
        choices = parts["choice-text"].substitute(field=field)
    return parts["item"].substitute(
        id=escape(item.id),
        number=number,
        count=count,
        text=escape(item.text),
        scores=parts["scores"].substitute(rows=scores) if scores else "",
        choices=choices,
    )


# --- routes (under /review) ----------------------------------------------------------------------------
class ReviewDesk(Protocol):
    """What the review page needs of the service."""

    def in_progress(self) -> list[HumanLoop]:
        """The loops waiting for a person, oldest first."""
        ...

    def complete(
        self,
        loop_name: str,
        answers: dict[str, str],
        worker_id: str = ...,
        *,
        acceptance_time: datetime | None = None,
    ) -> str:
        """Record a reviewer's answers; returns the ``output.json`` S3 URI."""
        ...


router: Router[Callable[[ReviewDesk, Request], Response]] = Router()


def list_page(desk: ReviewDesk, *, notice: str | None = None, error: str | None = None) -> str:
    opened_ms = int(utc_now().timestamp() * 1000)
    loops = [loop for loop in desk.in_progress() if loop_kind(loop.input_document()) is None]
    return review_page(loops, opened_ms=opened_ms, notice=notice, error=error)


@router.get("/")
def review_list(desk: ReviewDesk, request: Request) -> Response:
    done = request.query_params().get("done")
    notice = f"Submitted {done}: answer written to S3." if done else None
    return Response.html(200, list_page(desk, notice=notice))


@router.get("/review.css")
def stylesheet(desk: ReviewDesk, request: Request) -> Response:
    return Response.text(200, read_asset(PAGE, "review.css"), "text/css; charset=utf-8")


@router.post("/<loop>")
def submit_review(desk: ReviewDesk, request: Request) -> Response:
    """Record a posted form: its ``label-<id>`` answers, accepted at the time the page was ``opened``."""
    loop_name = request.params["loop"]
    form = request.form()
    answers = {key: value for key, value in form.items() if key.startswith(ANSWER_PREFIX)}
    accepted: datetime | None = None
    with contextlib.suppress(KeyError, ValueError, OverflowError, OSError):
        accepted = datetime.fromtimestamp(int(form["opened"]) / 1000, tz=utc_now().tzinfo)
    try:
        desk.complete(loop_name, answers, acceptance_time=accepted)
    except ResourceNotFoundException as err:
        return Response.html(404, message_page("Not found", err.message))
    except ValidationException as err:
        return Response.html(400, list_page(desk, error=f"{loop_name}: {err.message}"))
    except Exception as exc:  # e.g. S3 refused the output: the loop stays InProgress
        LOG.exception("review of %s failed", loop_name)
        return Response.html(500, list_page(desk, error=f"{loop_name}: could not record the answer: {exc}"))
    return Response.redirect(f"/review?done={loop_name}")
