"""Model lines, routing by language and taxonomies: the decisions, without AWS."""

from __future__ import annotations

import pytest
from comprehend_al.errors import InvalidRequest, UnknownLabel, UnsupportedLanguage
from comprehend_al.hierarchy import child_line, corrected, flat_levels, split_rows
from comprehend_al.lines import line_settings
from comprehend_al.models import ModelKind
from comprehend_al.pointers import Pointers
from comprehend_al.routing import choose
from comprehend_al.settings import Settings


def settings(**env: str) -> Settings:
    return Settings.from_env({"DATA_BUCKET": "b", "REGISTRY_TABLE": "t", "PARAMETER_PREFIX": "/p", **env})


SERVED = {"en", "es", "fr"}


def serving(line: str) -> bool:
    return line in SERVED


# --- routing --------------------------------------------------------------------------------------------
def test_a_text_goes_to_its_language_model() -> None:
    """Given models for en, es, fr, when a text is detected as Spanish, then the es line answers it."""
    route = choose([("es", 0.99), ("gl", 0.01)], settings(), serving)
    assert (route.line, route.language, route.fallback) == ("es", "es", False)


def test_a_neighbour_ranked_first_does_not_hide_a_served_language() -> None:
    """Given a Spanish tweet that the detector ranks Galician first, then the es line still answers it."""
    route = choose([("gl", 0.7), ("es", 0.3)], settings(), serving)
    assert (route.line, route.language) == ("es", "gl")


def test_a_language_without_a_model_is_refused_naming_it() -> None:
    """Given no model for German or Dutch, when such a text arrives, then the error names the language and
    the languages served (HTTP 422 unsupported_language); a barely-ranked served language does not count."""
    for ranked in ([("de", 0.98), ("en", 0.0001)], [("nl", 1.0)]):
        with pytest.raises(UnsupportedLanguage) as raised:
            choose(ranked, settings(), serving)
        assert f"'{ranked[0][0]}'" in str(raised.value) and "en, es, fr" in str(raised.value)
        assert raised.value.code == "unsupported_language" and raised.value.field == "text"


def test_a_configured_fallback_line_answers_what_no_language_model_serves() -> None:
    """Given FALLBACK_LINE=default and a serving default line, when a Dutch text arrives, then the default
    line answers it, marked as a fallback."""
    route = choose([("nl", 1.0)], settings(FALLBACK_LINE="default"), lambda line: line in {"", "en"})
    assert (route.line, route.language, route.fallback) == ("", "nl", True)


def test_languages_are_configuration() -> None:
    """Given LANGUAGES without fr, when a French text arrives, then it is not routed to the fr model."""
    with pytest.raises(UnsupportedLanguage):
        choose([("fr", 1.0)], settings(LANGUAGES="en,es"), serving)


# --- lines ----------------------------------------------------------------------------------------------
def test_a_line_has_its_own_prefixes_names_and_pointer_while_the_default_keeps_the_old_ones() -> None:
    base = settings()
    es = line_settings(base, "es")

    assert line_settings(base, "") is base
    assert (es.upload_prefix, es.test_prefix, es.datasets_prefix) == (
        "train/new/es/",
        "test/es/",
        "datasets/es/",
    )
    assert es.model_name(ModelKind.CLASSIFIER) == "comprehend-al-classifier-es" and es.language_code == "es"
    assert base.model_name(ModelKind.CLASSIFIER) == "comprehend-al-classifier"
    assert Pointers.key(ModelKind.CLASSIFIER, line="es") == "classifier/lines/es/active"
    assert Pointers.key(ModelKind.CLASSIFIER) == "classifier/active"
    assert line_settings(base, child_line("Orders")).language_code == "en"  # a taxonomy line


def test_a_line_name_that_cannot_be_a_resource_name_is_rejected() -> None:
    with pytest.raises(InvalidRequest):
        line_settings(settings(), "Bad/Line")


# --- taxonomy -------------------------------------------------------------------------------------------
def test_path_rows_split_into_parent_rows_and_child_rows_per_parent() -> None:
    """Given PARENT/CHILD rows, then every row trains the parent; each parent with two or more children
    gets a child model's rows; a parent-only row trains the parent alone."""
    rows = [["A/x", "t1"], ["A/y", "t2"], ["B/z", "t3"], ["A", "t4"]]

    parents, children = split_rows(rows)

    assert parents == [["A", "t1"], ["A", "t2"], ["B", "t3"], ["A", "t4"]]
    assert children == {"A": [["x", "t1"], ["y", "t2"]]}  # B has one child: implied, no model
    assert child_line("Mean Of Transportation") == "c-mean-of-tr"


def test_a_flat_model_answers_both_levels_from_its_paths() -> None:
    levels = flat_levels([("A/x", 0.5), ("A/y", 0.3), ("B/z", 0.2)], "v1")
    assert [(lv.level, lv.label, round(lv.score, 2)) for lv in levels] == [
        ("parent", "A", 0.8),
        ("child", "x", 0.5),
    ]


NESTED = {"levels": [{"level": "parent", "label": "ORDERS"}, {"level": "child", "label": "BILLING"}]}


def test_feedback_may_correct_one_level_of_a_taxonomy() -> None:
    """Given a nested prediction ORDERS/BILLING, a child alone, a parent alone or a whole path is a valid
    correction; a parent the model does not know is not."""
    known = ["ORDERS", "SERVICE"]
    assert corrected(NESTED, ("SHIPPING",), known) == ("ORDERS/SHIPPING",)
    assert corrected(NESTED, ("SERVICE",), known) == ("SERVICE",)
    assert corrected(NESTED, ("SERVICE/ACCOUNT",), known) == ("SERVICE/ACCOUNT",)
    with pytest.raises(UnknownLabel):
        corrected(NESTED, ("OTHER/THING",), known)
    flat_known = ["ORDERS/BILLING", "ORDERS/SHIPPING"]
    assert corrected(NESTED, ("SHIPPING",), flat_known) == ("ORDERS/SHIPPING",)
    with pytest.raises(UnknownLabel):
        corrected(NESTED, ("ORDERS",), flat_known)  # a flat model has no parent-only label
