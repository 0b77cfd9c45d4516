"""Batch selection for review (pure numpy): what a day's budget is spent on."""

from __future__ import annotations

import numpy as np
import pytest
from comprehend_al.batch_selection import TextVectors, cold_start, queue_and_select, select, uncertainty
from comprehend_al.review import ReviewPolicy, Strategy

TOPICS = {
    "parcel": [
        "where is my parcel, the courier delivery is late",
        "the courier lost my parcel delivery",
        "parcel delivery tracking shows the courier stuck",
        "my parcel never came, courier delivery failed",
    ],
    "refund": [
        "refund my payment, I want my money back",
        "money back please, the refund of my payment is missing",
        "payment refund still not in my account, money back",
        "I asked for a refund of the payment and my money",
    ],
    "login": [
        "cannot login, password rejected and account locked",
        "password reset fails, login to my account locked",
        "account locked after login with the wrong password",
        "login password not accepted, account blocked",
    ],
}


def corpus(per_topic: int = 12) -> tuple[list[str], list[str]]:
    texts, topics = [], []
    for topic, templates in TOPICS.items():
        for i in range(per_topic):
            texts.append(templates[i % len(templates)] + "!" * (i // len(templates)))
            topics.append(topic)
    return texts, topics


def test_hashed_vectors_put_texts_of_one_topic_closer_than_texts_of_another() -> None:
    texts, topics = corpus()
    x = TextVectors().matrix(texts)
    sims = x @ x.T
    same = [
        sims[i, j] for i in range(len(texts)) for j in range(len(texts)) if i != j and topics[i] == topics[j]
    ]
    other = [sims[i, j] for i in range(len(texts)) for j in range(len(texts)) if topics[i] != topics[j]]
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert np.mean(same) > 3 * np.mean(other)
    assert np.array_equal(x, TextVectors().matrix(texts))  # stable hashing: the same in every process


def test_margin_clusters_spreads_the_budget_over_topics_where_margin_takes_the_most_uncertain_one() -> None:
    """Given one topic whose texts are all slightly more uncertain than the others', when 3 are picked
    (all 12 are among the 8 x 3 most uncertain), then margin takes 3 of that topic and margin_clusters one
    of each."""
    texts, topics = corpus(per_topic=4)
    margin_of = {"parcel": 0.02, "refund": 0.06, "login": 0.08}
    scores = (
        np.array([[0.5, 0.5 - margin_of[t], 0.0] for t in topics]) + np.linspace(0, 1e-3, len(texts))[:, None]
    )
    by_margin = select(scores, texts, 3, Strategy.MARGIN)
    spread = select(scores, texts, 3, Strategy.MARGIN_CLUSTERS)
    assert {topics[i] for i in by_margin} == {"parcel"}
    assert sorted(topics[i] for i in spread) == ["login", "parcel", "refund"]


def test_class_quotas_keep_one_predicted_class_from_filling_the_budget() -> None:
    """Given 40 uncertain predictions of class 0 and 20 slightly less uncertain of classes 1-4, when 10 of
    5 classes are picked, then class 0 gets at most ceil(2 * 10 / 5) = 4."""
    rng = np.random.default_rng(0)
    rows = [[0.40, 0.39, 0.07, 0.07, 0.07] for _ in range(40)]
    rows += [np.roll([0.45, 0.40, 0.05, 0.05, 0.05], 1 + i % 4).tolist() for i in range(20)]
    texts = [" ".join(rng.choice(list("abcdefghij"), 6)) + f" {i}" for i in range(60)]
    picked = select(np.array(rows), texts, 10, Strategy.MARGIN_CLUSTERS)
    predicted = np.array(rows)[picked].argmax(axis=1)
    assert len(set(picked)) == 10 and int(np.sum(predicted == 0)) <= 4


@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_strategy_returns_k_distinct_indices_deterministically(strategy: Strategy) -> None:
    texts, _ = corpus()
    scores = np.random.default_rng(1).dirichlet(np.ones(3), size=len(texts))
    first = select(scores, texts, 7, strategy, seed=3)
    assert len(first) == len(set(first)) == 7 and first == select(scores, texts, 7, strategy, seed=3)
    assert select(scores, texts, 0, strategy) == [] and len(select(scores, texts, 99, strategy)) == len(texts)


def test_uncertainty_measures_and_bad_input() -> None:
    scores = np.array([[0.5, 0.5], [1.0, 0.0]])
    assert uncertainty(scores, Strategy.MARGIN).tolist() == [1.0, 0.0]
    assert uncertainty(scores, Strategy.ENTROPY).tolist() == pytest.approx([1.0, 0.0])
    with pytest.raises(ValueError, match="one row per text"):
        select(scores, ["only one"], 1)


def test_queue_and_select_picks_only_among_what_classify_would_buffer() -> None:
    """Given a policy buffering margins below 0.3, then only those compete for the budget."""
    texts = ["sure one", "unsure one", "sure two", "unsure two"]
    scores = np.array([[0.9, 0.1], [0.55, 0.45], [0.8, 0.2], [0.6, 0.4]])
    picked = queue_and_select(scores, texts, ReviewPolicy(Strategy.MARGIN_CLUSTERS, 0.3, 10))
    assert sorted(picked) == [1, 3]


def test_cold_start_takes_one_representative_per_topic() -> None:
    texts, topics = corpus()
    picked = cold_start(texts, 3)
    assert sorted(topics[i] for i in picked) == ["login", "parcel", "refund"]
