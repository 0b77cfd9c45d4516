"""The CRF entity engine of the local Comprehend-compatible service, on small generated data."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from comprehend_al.datasets.entities import Annotation
from comprehend_al.entity_metrics import evaluate_entities

from local.comprehend.engines import encoders
from local.comprehend.engines.entities import (
    TOKEN_KEY,
    EntityModel,
    bio_tags,
    build_gazetteer,
    decode,
    features,
    gazetteer_tags,
    tokenize,
    train,
)

FIRST = ["Alice", "Bob", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kofi", "Lena"]
LAST = ["Smith", "Garcia", "Okafor", "Tanaka", "Novak", "Jensen", "Moreau", "Rossi", "Kowalski", "Haddad"]
ORGS = ["Acme Corp", "Globex", "Initech", "Umbrella Group", "Stark Industries", "Wayne Enterprises", "Hooli"]
TEMPLATES = [
    "{PERSON} joined {ORGANIZATION} last year .",
    "Yesterday {PERSON} said that {ORGANIZATION} will grow .",
    "{ORGANIZATION} hired {PERSON} as its new chief .",
    "According to {PERSON} , profits at {ORGANIZATION} fell sharply .",
    "The board of {ORGANIZATION} met on Monday .",
    "{PERSON} resigned on Friday .",
    "Shares rose after the report was published .",
]


def generate(count: int, seed: int) -> tuple[list[str], list[Annotation]]:
    """Sentences from the templates with random names and organisations, and their exact spans."""
    rng = random.Random(seed)
    documents: list[str] = []
    annotations: list[Annotation] = []
    for index in range(count):
        template = rng.choice(TEMPLATES)
        text = ""
        rest = template
        while "{" in rest:
            before, _, after = rest.partition("{")
            type_, _, rest = after.partition("}")
            value = f"{rng.choice(FIRST)} {rng.choice(LAST)}" if type_ == "PERSON" else rng.choice(ORGS)
            text += before
            annotations.append(Annotation(index, len(text), len(text) + len(value), type_))
            text += value
        documents.append(text + rest)
    return documents, annotations


@pytest.fixture(scope="module")
def model() -> EntityModel:
    documents, annotations = generate(300, seed=1)
    return train(documents, annotations, params={"max_iterations": 50})


def test_trained_model_finds_the_entities_of_unseen_sentences(model: EntityModel) -> None:
    documents, gold = generate(100, seed=2)
    predicted = [
        Annotation(i, e["BeginOffset"], e["EndOffset"], e["Type"])
        for i, text in enumerate(documents)
        for e in model.predict(text)
    ]

    metrics = evaluate_entities(gold, predicted, documents=len(documents))

    assert metrics.F1Score >= 0.95, metrics


def test_prediction_is_comprehend_shaped_with_offsets_into_the_original_text(model: EntityModel) -> None:
    text = "Yesterday  Grace Novak said that Initech will grow ."  # two spaces: offsets must still be exact

    entities = model.predict(text)

    assert [(e["Text"], e["Type"]) for e in entities] == [
        ("Grace Novak", "PERSON"),
        ("Initech", "ORGANIZATION"),
    ]
    for e in entities:
        assert set(e) == {"BeginOffset", "EndOffset", "Score", "Text", "Type"}
        assert text[e["BeginOffset"] : e["EndOffset"]] == e["Text"]
        assert 0.5 < e["Score"] <= 1.0


def test_entity_types_are_the_trained_types(model: EntityModel) -> None:
    assert model.entity_types == ["ORGANIZATION", "PERSON"]


def test_text_without_tokens_has_no_entities(model: EntityModel) -> None:
    assert model.predict("   ") == []


def test_saved_model_loads_and_predicts_the_same(model: EntityModel, tmp_path: Path) -> None:
    path = tmp_path / "model.crf"
    text = "Hiro Tanaka joined Hooli last year ."

    model.save(path)
    loaded = EntityModel.load(path)

    assert loaded.predict(text) == model.predict(text)
    assert loaded.entity_types == model.entity_types


def test_training_without_annotations_is_refused() -> None:
    with pytest.raises(ValueError, match="no annotations"):
        train(["Nothing here ."], [])


# --- the pieces -------------------------------------------------------------------------------------
def test_tokenize_keeps_offsets_and_splits_punctuation() -> None:
    tokens = tokenize("U.S. sales, 1996-08-22 (up)")

    assert [(t.text, t.begin, t.end) for t in tokens] == [
        ("U.S.", 0, 4),
        ("sales", 5, 10),
        (",", 10, 11),
        ("1996-08-22", 12, 22),
        ("(", 23, 24),
        ("up", 24, 26),
        (")", 26, 27),
    ]


def test_tokenize_splits_a_token_at_an_annotated_span_edge() -> None:
    tokens = tokenize("Obama-led talks", boundaries=[0, 5])

    assert [t.text for t in tokens] == ["Obama", "-led", "talks"]


def test_bio_tags_mark_the_first_token_of_a_span_b_and_the_rest_i() -> None:
    text = "Alice Smith met Bob ."
    tokens = tokenize(text)

    tags = bio_tags(tokens, [Annotation(0, 0, 11, "PERSON"), Annotation(0, 16, 19, "PERSON")])

    assert tags == ["B-PERSON", "I-PERSON", "O", "B-PERSON", "O"]


def test_decode_follows_conlleval_for_stray_and_switching_i_tags() -> None:
    # I- after O starts an entity; I- of another type starts a new one; B- always starts one.
    tags = ["I-PER", "I-PER", "O", "B-ORG", "I-LOC", "B-LOC", "B-LOC"]

    assert decode(tags) == [(0, 2, "PER"), (3, 4, "ORG"), (4, 5, "LOC"), (5, 6, "LOC"), (6, 7, "LOC")]


def test_gazetteer_matches_the_longest_known_entity() -> None:
    text = "Alice Smith met the board of Acme Corp and Acme ."
    tokens = tokenize(text)
    gazetteer = build_gazetteer(
        [tokenize("Acme Corp grew ."), tokenize("Alice Smith left ."), tokenize("Acme fell .")],
        [[Annotation(0, 0, 9, "ORG")], [Annotation(1, 0, 11, "PER")], [Annotation(2, 0, 4, "LOC")]],
    )

    tags = gazetteer_tags(tokens, gazetteer)

    assert gazetteer[("acme", "corp")] == "ORG"
    assert gazetteer[(TOKEN_KEY, "smith")] == "PER"  # each word alone: the type of the entities it was in
    assert tags == ["B-PER", "I-PER", "", "", "", "", "B-ORG", "I-ORG", "", "B-LOC", ""]


def test_the_saved_model_keeps_its_gazetteer(model: EntityModel, tmp_path: Path) -> None:
    path = tmp_path / "model.crf"
    model.save(path)

    loaded = EntityModel.load(path)

    assert loaded.gazetteer == model.gazetteer
    assert ("hooli",) in loaded.gazetteer


def test_a_model_saved_before_the_gazetteer_still_loads(model: EntityModel, tmp_path: Path) -> None:
    path = tmp_path / "old.crfsuite"
    path.write_bytes(model._model)  # the old format: the CRFsuite file alone

    loaded = EntityModel.load(path)

    assert loaded.gazetteer == {}
    assert loaded.entity_types == model.entity_types


def test_word_cluster_features_are_added_when_prepared() -> None:
    clusters = encoders.word_clusters()
    if clusters is None:
        pytest.skip("word clusters not prepared (make venv prepares them)")
    text = "Rotterdam welcomed Xqzvbn ."
    _, ids = clusters.lookup("Rotterdam") or (False, ())

    feats = features(tokenize(text), text)

    assert f"c256={ids[1]}" in feats[0] and f"Tc256={ids[1]}" in feats[0]  # capitalised: a "T" copy too
    assert f"-1c256={ids[1]}" in feats[1] and f"-2c256={ids[1]}" in feats[2]
    assert any(f.startswith("fc64=") for f in feats[2])  # not a WordPiece: its first piece's clusters
