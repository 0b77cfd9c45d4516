"""DetectDominantLanguage of the local service: a real detector, Comprehend's request and answer shapes."""

from __future__ import annotations

from typing import Any

from local import langgen


def test_each_language_of_the_generated_tickets_is_detected(comprehend: Any) -> None:
    """Given tickets written in six languages, when each is sent to DetectDominantLanguage, then its
    language comes first, with a score, in Comprehend's answer shape (checked against botocore)."""
    for lang in langgen.LANGUAGES:
        for ticket in langgen.generate(5, lang, seed=2):
            languages = comprehend.detect_dominant_language(Text=ticket.text)["Languages"]
            assert languages[0]["LanguageCode"] == lang, ticket.text
            assert 0.5 < languages[0]["Score"] <= 1.0
            assert [x["Score"] for x in languages] == sorted((x["Score"] for x in languages), reverse=True)
