"""The reviewer's web page: server-rendered HTML, a little CSS, no JavaScript.

A loop's ``InputContent`` is read generically: ``{"items": [{"id", "text", "scores": [{"Name", "Score"}]}],
"labels": [...], ...}``. Each item gets one radio group named ``label-<id>`` offering the loop's ``labels``
(never a built-in list); the other top-level fields are shown as plain facts. Everything that comes from
the input is HTML-escaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from local.a2i.store import HumanLoop

ANSWER_PREFIX = "label-"
TOP_SCORES = 5  # bars shown per item: the model's most likely labels

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1d2329}
header{background:#232f3e;color:#fff;padding:.8rem 1.5rem}
header h1{font-size:1.2rem;margin:0}
header p{margin:.2rem 0 0;color:#c8d0d9;font-size:.9rem}
main{max-width:60rem;margin:0 auto;padding:1rem 1.5rem}
.notice{background:#e6f4ea;border:1px solid #9fd3ad;padding:.5rem .8rem;border-radius:4px}
.error{background:#fdecea;border:1px solid #f1a9a0;padding:.5rem .8rem;border-radius:4px}
section.loop{background:#fff;border:1px solid #d5dbe1;border-radius:6px;margin:1rem 0;padding:.8rem 1rem}
section.loop h2{font-size:1rem;margin:0 0 .3rem;font-family:ui-monospace,monospace}
dl.facts{display:flex;flex-wrap:wrap;gap:.2rem 1.2rem;margin:0 0 .6rem;font-size:.85rem;color:#545b64}
dl.facts dt{font-weight:600}dl.facts dd{margin:0 0 0 .3rem}
dl.facts div{display:flex}
fieldset.item{border:1px solid #e3e7eb;border-radius:4px;margin:.6rem 0;padding:.5rem .8rem}
fieldset.item legend{font-size:.8rem;color:#545b64;padding:0 .3rem}
blockquote.text{margin:.2rem 0 .5rem;padding:.4rem .7rem;background:#f8f9fa;border-left:3px solid #879596;
 white-space:pre-wrap;word-break:break-word}
ul.scores{list-style:none;margin:0 0 .5rem;padding:0;font-size:.85rem}
ul.scores li{display:grid;grid-template-columns:12rem 1fr 3.5rem;gap:.5rem;align-items:center}
ul.scores .name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
ul.scores .track{background:#eaeded;height:.6rem;border-radius:3px}
ul.scores .bar{display:block;background:#0073bb;height:100%;border-radius:3px}
ul.scores .value{text-align:right;font-variant-numeric:tabular-nums}
.choices{display:flex;flex-wrap:wrap;gap:.3rem .9rem}
.choices label{white-space:nowrap;cursor:pointer}
button{background:#ec7211;color:#fff;border:0;border-radius:4px;padding:.45rem 1.1rem;font-size:.95rem;
 cursor:pointer}
button:hover{background:#d45b07}
pre{white-space:pre-wrap;word-break:break-word;background:#f8f9fa;padding:.5rem}
"""


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
def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
        f"<body>{body}</body></html>\n"
    )


def review_page(
    loops: list[HumanLoop], *, opened_ms: int, notice: str | None = None, error: str | None = None
) -> str:
    """The list of loops waiting for a person, one form each."""
    parts = [
        "<header><h1>Human review: local A2I</h1>",
        f"<p>{len(loops)} human loop{'s' if len(loops) != 1 else ''} in progress</p></header><main>",
    ]
    if notice:
        parts.append(f'<p class="notice" role="status">{escape(notice)}</p>')
    if error:
        parts.append(f'<p class="error" role="alert">{escape(error)}</p>')
    if not loops:
        parts.append("<p>Nothing to review.</p>")
    parts.extend(_loop_form(loop, opened_ms) for loop in loops)
    parts.append("</main>")
    return page("Human review", "".join(parts))


def message_page(title: str, message: str) -> str:
    body = (
        f"<header><h1>{escape(title)}</h1></header><main>"
        f'<p class="error" role="alert">{escape(message)}</p>'
        '<p><a href="/review">Back to the review list</a></p>'
        "</main>"
    )
    return page(title, body)


def _loop_form(loop: HumanLoop, opened_ms: int) -> str:
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
    parts = [
        f'<section class="loop" id="loop-{name}" data-loop="{name}">',
        f"<h2>{name}</h2>",
        '<dl class="facts">',
        *(f"<div><dt>{escape(key)}</dt><dd>{escape(value)}</dd></div>" for key, value in facts),
        "</dl>",
        f'<form method="post" action="/review/{quote(loop.name)}">',
        f'<input type="hidden" name="opened" value="{opened_ms}">',
    ]
    if not items:
        parts.append(
            "<p>This loop's input has no <code>items</code> to label:</p>"
            f"<pre>{escape(json.dumps(document, indent=2, ensure_ascii=False))}</pre>"
        )
    for number, item in enumerate(items, start=1):
        parts.append(_item_fieldset(item, number, len(items), labels))
    if items:
        parts.append(f'<button type="submit" name="submit" value="{name}">Submit {name}</button>')
    parts.append("</form></section>")
    return "".join(parts)


def _item_fieldset(item: ReviewItem, number: int, count: int, labels: list[str]) -> str:
    field = escape(item.field, quote=True)
    parts = [
        f'<fieldset class="item" data-item="{escape(item.id, quote=True)}">',
        f"<legend>item {number} of {count} · id {escape(item.id)}</legend>",
        f'<blockquote class="text">{escape(item.text)}</blockquote>',
    ]
    if item.scores:
        parts.append('<ul class="scores" aria-label="model scores">')
        for label, score in item.scores[:TOP_SCORES]:
            width = max(0.0, min(1.0, score)) * 100
            parts.append(
                f'<li><span class="name" title="{escape(label, quote=True)}">{escape(label)}</span>'
                f'<span class="track"><span class="bar" style="width:{width:.1f}%"></span></span>'
                f'<span class="value">{score:.3f}</span></li>'
            )
        parts.append("</ul>")
    parts.append('<div class="choices" role="radiogroup">')
    if labels:
        for label in labels:
            value = escape(label, quote=True)
            parts.append(
                f'<label><input type="radio" name="{field}" value="{value}" required> {escape(label)}</label>'
            )
    else:  # no label set in the input: the reviewer types one
        parts.append(f'<label>label <input type="text" name="{field}" required></label>')
    parts.append("</div></fieldset>")
    return "".join(parts)
