"""A nested taxonomy end to end in the offline stack: a PARENT/CHILD upload trains the parent model and one
child model per parent through the real state machine, and /classify and /feedback work per level."""

from __future__ import annotations

from pathlib import Path

import pytest

from local import datagen, langgen
from local.stack import running
from tests.integration.test_lines_offline import classify, keys, line_active, post

pytestmark = pytest.mark.slow  # a parent and two child models trained: ~60 s


def test_taxonomy_upload_trains_parent_and_child_models_and_classify_returns_both_levels(
    tmp_path: Path,
) -> None:
    """Given TAXONOMY=nested and a path-labelled test set, when a PARENT/CHILD upload arrives, then the
    parent model (the default line) and one child model per parent are trained, and /classify answers
    the path with a score per level, each from its own model."""
    with running(tmp_path / "comprehend", {"Taxonomy": "nested"}) as env:
        env.stack.put("test/classifier/test.csv", datagen.to_csv(langgen.taxonomy(150, seed=99)))
        env.stack.put("train/new/tickets.csv", datagen.to_csv(langgen.taxonomy(300, seed=1)))
        results = [env.stack.wait(arn) for arn in env.stack.deliver_new_uploads()]
        results += [env.stack.wait(arn) for arn in env.stack.deliver_new_uploads()]  # the split's own events

        assert {r["status"] for r in results} == {"SUCCEEDED"}
        for line in ("", "c-orders", "c-service"):
            assert line_active(env, line).serving, line
        stream = langgen.taxonomy(30, seed=5)
        answers = [classify(env, t.text) for t in stream]
        assert {status for status, _ in answers} == {200}
        for _, body in answers:
            parent, child = body["levels"]
            assert (parent["level"], child["level"]) == ("parent", "child")
            assert body["path"] == f"{parent['label']}/{child['label']}"
            assert child["line"] == f"c-{parent['label'].lower()}"
            assert child["model_version"] == line_active(env, child["line"]).version
            assert 0 < child["score"] <= 1 and 0 < parent["score"] <= 1
        correct = sum(body["path"] == t.label for (_, body), t in zip(answers, stream, strict=True))
        assert correct / len(stream) >= 0.8
        assert keys(env, "train/processed/taxonomy/") == ["train/processed/taxonomy/tickets.csv"]

        # feedback per level: the child alone corrects the path under the parent predicted
        body, ticket = answers[0][1], stream[0]
        other = langgen.sibling(body["levels"][0]["label"], body["levels"][1]["label"])
        status, answer = post(
            env,
            "FeedbackFunction",
            "feedback/by_text.json",
            {"prediction_id": body["prediction_id"], "label": other, "text": ticket.text},
        )
        assert "labels" in answer, answer
    assert (status, answer["labels"]) == (202, [f"{body['levels'][0]['label']}/{other}"])
