"""Routing by language: which model line serves a text (``/classify``, ``/analyze``).

With ``LANGUAGE_ROUTING=true`` each request's text goes through Comprehend's ``DetectDominantLanguage``
(its ranked languages, each with a score). The text goes to the best-ranked language that is configured
(``LANGUAGES``), scores at least ``ROUTE_MIN_SCORE`` and has an active model: reading the whole ranking
rather than only the top language routes short, mixed or dialect-like texts that the detector ranks a
neighbour first (Galician before Spanish). A text in no such language goes to the ``FALLBACK_LINE`` when
one is configured and serving; otherwise the answer is HTTP 422 ``unsupported_language`` naming the
detected language and the languages served: never another language's model presented as an answer.

Without routing (the default), nothing is detected and the default line serves every text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from comprehend_al.aws.errors import aws_call
from comprehend_al.errors import UnsupportedLanguage
from comprehend_al.lines import DEFAULT
from comprehend_al.settings import Settings

DEFAULT_FALLBACK = "default"  # FALLBACK_LINE's name for the default line


@dataclass(frozen=True)
class Route:
    line: str  # "" is the default line
    language: str | None = None  # the dominant language detected (None: not detected)
    score: float | None = None
    fallback: bool = False  # served by the fallback line, not a model of its language


def detect_languages(comprehend: Any, text: str) -> list[tuple[str, float]]:
    """DetectDominantLanguage: ``(language code, score)``, best first."""
    with aws_call("DetectDominantLanguage"):
        response = comprehend.detect_dominant_language(Text=text)
    ranked = [(str(x["LanguageCode"]), float(x["Score"])) for x in response.get("Languages", [])]
    return sorted(ranked, key=lambda pair: -pair[1])


def choose(ranked: list[tuple[str, float]], settings: Settings, serving: Callable[[str], bool]) -> Route:
    """The line of a text whose detected languages are ``ranked``; ``serving(line)``: has an active model."""
    top, top_score = ranked[0] if ranked else ("und", 0.0)
    for code, score in ranked:
        if code in settings.language_lines and score >= settings.route_min_score and serving(code):
            return Route(code, top, top_score)
    fallback = settings.fallback_line
    line = DEFAULT if fallback == DEFAULT_FALLBACK else fallback
    if fallback and serving(line):
        return Route(line, top, top_score, fallback=True)
    served = [code for code in settings.language_lines if serving(code)]
    raise UnsupportedLanguage(
        f"text is in {top!r} (score {top_score:.2f}) and no model serves it: models serve "
        f"{', '.join(served) or 'no language yet'}; send text in one of those, or configure FALLBACK_LINE",
        field="text",
    )


def route(text: str, settings: Settings, comprehend: Any, serving: Callable[[str], bool]) -> Route:
    """The line that serves ``text`` (the default line when routing is off)."""
    if not settings.language_routing:
        return Route(DEFAULT)
    return choose(detect_languages(comprehend, text), settings, serving)
