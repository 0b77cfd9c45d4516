"""The classification engine behind the local service, and the shape checker the service tests rely on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from comprehend_kit import multi_label_rows, rows
from comprehend_shapes import output_errors

from local.comprehend.engines import encoders as encoding
from local.comprehend.engines.classification import ClassifierModel, Novelty, _encoders_for, train

LABELS = ["SPORTS", "FINANCE", "COOKING", "TRAVEL"]


@pytest.fixture(scope="module")
def model() -> ClassifierModel:
    data = rows(LABELS, 60, seed=1)
    return train([t for _, t in data], [[label] for label, _ in data], multi_label=False)


def test_scores_are_sorted_probabilities_over_every_label(model: ClassifierModel) -> None:
    ranked = model.predict_proba(["the striker scored a goal", "hotel and flight to the beach"])
    for scores in ranked:
        assert sorted(name for name, _ in scores) == sorted(LABELS)
        values = [score for _, score in scores]
        assert values == sorted(values, reverse=True)
        assert sum(values) == pytest.approx(1.0, abs=1e-6)
    assert [scores[0][0] for scores in ranked] == ["SPORTS", "TRAVEL"]


def test_confidence_is_calibrated_on_held_out_documents(model: ClassifierModel) -> None:
    held_out = rows(LABELS, 25, seed=99)
    ranked = model.predict_proba([t for _, t in held_out])
    accuracy = sum(r[0][0] == label for r, (label, _) in zip(ranked, held_out, strict=True)) / len(held_out)
    confidence = sum(r[0][1] for r in ranked) / len(ranked)
    assert accuracy >= 0.9
    assert abs(confidence - accuracy) < 0.15  # neither wildly over- nor under-confident


def test_save_and_load_give_the_same_predictions(model: ClassifierModel, tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    model.save(path)
    loaded = ClassifierModel.load(path)
    texts = ["butter and garlic", "dividend profit"]
    assert loaded.labels == model.labels
    assert loaded.predict_proba(texts) == model.predict_proba(texts)


def test_multi_label_scores_each_label_independently() -> None:
    data = multi_label_rows(LABELS[:3], 120, seed=2)
    model = train([t for _, t in data], [labels for labels, _ in data], multi_label=True)
    assert model.multi_label and model.labels == sorted(LABELS[:3])
    both = dict(model.predict_proba(["recipe butter oven bank loan interest"])[0])
    assert both["COOKING"] >= 0.5 and both["FINANCE"] >= 0.5 and both["SPORTS"] < 0.5
    assert model.predict(["recipe flour oven dough"]) == [["COOKING"]]
    # a request (one document, the fast path) scores as the batch path does, with the fitted calibration
    data = multi_label_rows(LABELS[:3], 400, seed=3)
    model = train([t for _, t in data], [labels for labels, _ in data], multi_label=True)
    assert model.platt[1] != 0.0
    pair = ["recipe butter oven bank loan interest", "a match and a goal"]
    assert model.scores(pair[:1])[0] == pytest.approx(model.scores(pair)[0], abs=1e-6)


def test_training_needs_two_labels() -> None:
    with pytest.raises(ValueError, match="at least 2 labels"):
        train(["a goal", "a match"], [["SPORTS"], ["SPORTS"]], multi_label=False)


def test_the_shape_checker_reports_departures_from_botocore_shapes() -> None:
    good = {"Classes": [{"Name": "A", "Score": 0.5}]}
    assert output_errors("ClassifyDocument", good) == []
    assert output_errors("ClassifyDocument", {"Classes": [{"Name": 1, "Score": "x"}]}) == [
        "$.Classes[0].Name: expected string, got int",
        "$.Classes[0].Score: expected number, got 'x'",
    ]
    assert output_errors("DescribeEndpoint", {"EndpointProperties": {"Status": "BROKEN", "Extra": 1}}) == [
        "$.EndpointProperties.Status: 'BROKEN' not in enum ['CREATING', 'DELETING', 'FAILED', 'IN_SERVICE', "
        "'UPDATING']",
        "$.EndpointProperties.Extra: unknown member of EndpointProperties",
    ]
    assert output_errors("StartDocumentClassificationJob", {"SubmitTime": "yesterday"}) == [
        "$.SubmitTime: unknown member of StartDocumentClassificationJobResponse"
    ]
    assert output_errors("DeleteEndpoint", {}) == []


def test_the_real_time_path_scores_like_the_batch_path(model: ClassifierModel) -> None:
    texts = ["the striker scored a goal", "hotel and flight", "zzz qqq", "Bank LOAN, with interest!"]
    batch = model.scores(texts)
    for i, text in enumerate(texts):
        assert model.scores([text])[0] == pytest.approx(batch[i], abs=1e-4)


# --- sentence embeddings, the embedding cache and the novelty signal ---------------------------------------
TICKET_LABELS = ["BILLING", "SHIPPING", "TECHNICAL", "ACCOUNT"]


def _tickets(n: int, seed: int) -> tuple[list[str], list[list[str]]]:
    from local.datagen import generate

    tickets = generate(n, seed=seed, labels=TICKET_LABELS)
    return [t.text for t in tickets], [[t.label] for t in tickets]


def _use_available() -> bool:
    return encoding.get_encoder("use") is not None


needs_encoder = pytest.mark.skipif(
    not _use_available(), reason="sentence encoders not prepared (make venv prepares them)"
)


@needs_encoder
def test_off_topic_text_scores_well_below_in_domain_text() -> None:
    # Given a support-ticket model
    texts, labels = _tickets(300, seed=1)
    model = train(texts, labels, multi_label=False)
    # When it scores held-out tickets and texts about nothing it knows
    in_domain, _ = _tickets(40, seed=2)
    ticket_top = [ranked[0][1] for ranked in model.predict_proba(in_domain)]
    off_topic = ["hi there", "why", "what is the capital of France?", "qwertyuiop asdfghjkl"]
    off_top = {text: model.predict_proba([text])[0][0][1] for text in off_topic}
    # Then the off-topic texts score far below the tickets: they would go to human review
    assert sorted(ticket_top)[len(ticket_top) // 2] >= 0.8
    assert max(off_top.values()) < 0.5, off_top
    assert sum(off_top.values()) / len(off_top) < sum(ticket_top) / len(ticket_top) - 0.4


def test_without_embeddings_text_of_unknown_words_still_fades() -> None:
    # The sparse model's own novelty signal (similarity of the word features to the label centroids) is
    # weaker: it catches text made of words the model never saw, not fluent off-topic questions.
    texts, labels = _tickets(300, seed=1)
    model = train(texts, labels, multi_label=False, encoders=())
    assert model.novelty is not None and model.novelty.encoder == ""
    assert model.predict_proba(["qwertyuiop asdfghjkl zxcvbnm"])[0][0][1] < 0.3
    in_domain, _ = _tickets(20, seed=2)
    assert min(ranked[0][1] for ranked in model.predict_proba(in_domain)) > 0.5


def test_novelty_keeps_the_ranking_and_lowers_only_the_confidence() -> None:
    novelty = Novelty("", np.eye(3, dtype=np.float32), threshold=0.4)
    p = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1], [0.7, 0.2, 0.1]])
    faded = novelty.fade(p, np.array([0.5, 0.2, 0.0]))  # in domain, halfway, nothing in common
    assert faded[0] == pytest.approx(p[0])
    assert list(np.argsort(-faded[1])) == [0, 1, 2] and faded[1, 0] < 0.7
    assert faded[1].sum() == pytest.approx(1.0)
    assert faded[2] == pytest.approx([1 / 3] * 3)


@needs_encoder
def test_minilm_replaces_the_static_table_on_short_documents_only() -> None:
    short, long = "where is my card?", "a news item of some length, " * 8
    # the static table is distilled from MiniLM: beside it, it is left out
    assert [e.name for e in _encoders_for([short] * 30, None)] == ["use", "minilm-l6"]
    assert [e.name for e in _encoders_for([short] * 2000, None)] == ["use", "minilm-l6"]
    assert [e.name for e in _encoders_for([long] * 30 + [short] * 20, None)] == ["use", "static-l6"]
    assert [e.name for e in _encoders_for([long] * 2000, None)] == ["use", "static-l6"]
    assert _encoders_for([short] * 2000, ()) == []


@needs_encoder
def test_the_static_table_embeds_like_a_sentence_encoder() -> None:
    # The table distilled from MiniLM at install time: a sentence is the mean of its tokens' vectors
    static = encoding.get_encoder("static-l6")
    assert static is not None and static.is_static
    card, card2, weather = static.encode(
        ["my card was declined at the shop", "the shop refused my card payment", "it will rain in Paris"]
    )
    assert float(card @ card2) > float(card @ weather) + 0.1
    assert float(np.linalg.norm(card)) == pytest.approx(1.0, abs=1e-5)


@needs_encoder
def test_one_document_scores_as_it_does_in_a_batch() -> None:
    # A single request runs its encoders side by side; the scores are those of the batch path
    texts, labels = _tickets(250, seed=8)
    model = train(texts, labels, multi_label=False, encoders=("use", "static-l6", "minilm-l6"))
    assert [h.encoders for h in model.dense] == [("use", "static-l6", "minilm-l6")]
    sample = ["my invoice shows a charge I do not recognise (single)", "the app crashes on login (single)"]
    encoding.clear_caches()
    one = np.vstack([model.scores([text]) for text in sample])
    assert one == pytest.approx(model.scores(sample), abs=1e-5)


@needs_encoder
def test_a_second_fit_encodes_only_the_new_documents() -> None:
    # Given a model trained once (its documents' embeddings are now cached)
    texts, labels = _tickets(120, seed=4)
    texts = [f"{t} (cache test {i})" for i, t in enumerate(texts)]  # no other test shares these texts
    first = train(texts, labels, multi_label=False, encoders=("use",))
    assert first.info["encoded"] == {"use": len(set(texts))}
    # When it is retrained on the same documents plus a few new ones
    extra, extra_labels = _tickets(8, seed=5)
    extra = [f"{t} (new {i})" for i, t in enumerate(extra)]
    second = train(texts + extra, labels + extra_labels, multi_label=False, encoders=("use",))
    # Then only the new documents went through the encoder
    assert second.info["encoded"] == {"use": len(extra)}
    assert [h.encoders for h in second.dense] == [("use",)]


@needs_encoder
def test_embeddings_are_blended_and_the_model_round_trips(tmp_path: Path) -> None:
    texts, labels = _tickets(250, seed=6)
    model = train(texts, labels, multi_label=False, encoders=("use", "minilm-l6"))
    # one logistic regression over both encoders' embeddings side by side, blended with the sparse model
    assert [h.encoders for h in model.dense] == [("use", "minilm-l6")]
    assert model.dense[0].coef.shape == (len(model.labels), 512 + 384)
    assert len(model.weights) == 2 and sum(model.weights) == pytest.approx(1.0)
    model.save(tmp_path / "model.pkl")
    loaded = ClassifierModel.load(tmp_path / "model.pkl")
    sample = ["I was charged twice for my subscription", "the parcel never arrived"]
    assert loaded.predict_proba(sample) == model.predict_proba(sample)


@needs_encoder
def test_a_model_saved_with_one_head_per_encoder_still_loads(tmp_path: Path) -> None:
    # Models written before the joint head had one head per encoder, named by ``encoder``
    texts, labels = _tickets(150, seed=9)
    model = train(texts, labels, multi_label=False, encoders=("use",))
    sample = ["I was charged twice for my subscription", "the parcel never arrived"]
    expected = model.predict_proba(sample)
    head = model.dense[0]
    head.__dict__["encoder"] = head.__dict__.pop("encoders")[0]
    model.save(tmp_path / "old.pkl")
    loaded = ClassifierModel.load(tmp_path / "old.pkl")
    assert loaded.dense[0].encoders == ("use",)
    assert loaded.predict_proba(sample) == expected


def test_without_encoders_the_engine_falls_back_to_the_sparse_model(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a machine where the encoders were never prepared
    monkeypatch.setattr(encoding, "_ENCODERS", {})
    monkeypatch.setenv(encoding.ENV_DIR, "/nonexistent/encoders")
    texts, labels = _tickets(200, seed=7)
    # When a classifier trains
    with caplog.at_level("WARNING", logger="local.comprehend.encoders"):
        model = train(texts, labels, multi_label=False)
    # Then it is the sparse model (with its word-feature novelty signal), and the log says why
    assert model.dense == [] and model.weights == ()
    assert model.novelty is not None and model.novelty.encoder == ""
    assert "not prepared" in caplog.text
    assert model.predict(["I was charged twice for my subscription"]) == [["BILLING"]]


def test_encoders_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(encoding.ENV_SELECT, "none")
    texts, labels = _tickets(100, seed=8)
    assert train(texts, labels, multi_label=False).dense == []


@needs_encoder
def test_a_document_embeds_the_same_alone_and_among_others() -> None:
    # The quantized MiniLM scales its activations per input: the engine runs one document at a time, so
    # what training saw for a text is what a request for that text gets
    minilm = encoding.get_encoder("minilm-l6")
    assert minilm is not None
    sample = ("where is my new card", "I was charged twice for one coffee", "hi")
    texts = [f"{t} (alone test)" for t in sample]
    together = minilm.encode(texts)
    minilm.clear_cache()
    alone = np.vstack([minilm.encode([t]) for t in texts])
    assert alone == pytest.approx(together, abs=1e-5)
