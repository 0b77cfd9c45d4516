"""DetectDominantLanguage: the languages of a text, best first, from a real detector (py3langid).

Amazon Comprehend answers ``{"Languages": [{"LanguageCode": "es", "Score": 0.97}, ...]}`` for ``Text``
of at most 100 KB of UTF-8; so does this module. The detector is py3langid (BSD, ships its model: no
download at run time): it knows 97 languages, as Comprehend knows about a hundred, so a text in a
language the stack has no model for is reported as that language, not forced into one it has.

Measured on ``tweet_sentiment/mixed/dev.csv`` (1,944 tweets in six languages, 2-core CPU): py3langid over
all its languages 0.944 (1.5 ms/doc, 55 MB); lingua-language-detector 0.955 over all its languages but
7.8 ms/doc and 950 MB, 0.975 when told the six; langdetect 0.956 at 3.5 ms/doc. The router of the stack
reads the whole ranking (:mod:`comprehend_al.routing`), which recovers most of the gap.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from local.comprehend.common import check_text, reject_bytes
from local.comprehend.context import ServiceContext
from local.comprehend.registry import Request, Response, operation

MAX_TEXT_BYTES = 100 * 1024  # Comprehend's DetectDominantLanguage limit
TOP = 5  # languages returned, best first (Comprehend returns the likely ones, each with a score)


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)


def detect(text: str, top: int = TOP) -> list[dict[str, Any]]:
    """``[{"LanguageCode", "Score"}]`` of ``text``, best first (scores: probabilities over 97 languages)."""
    ranked = _identifier().rank(text)[:top]
    return [{"LanguageCode": str(code), "Score": round(float(score), 6)} for code, score in ranked]


@operation("DetectDominantLanguage")
def detect_dominant_language(ctx: ServiceContext, request: Request) -> Response:
    reject_bytes(request)
    return {"Languages": detect(check_text(request, MAX_TEXT_BYTES))}
