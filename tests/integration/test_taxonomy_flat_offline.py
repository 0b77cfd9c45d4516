"""A flat taxonomy end to end in the offline stack: a PARENT/CHILD upload trains one model of the paths
through the real state machine (its class names hold no '/'), and /classify and /feedback speak paths."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import boto3
import pytest

from local import datagen, langgen
from local.stack import REGION, running
from tests.integration.test_lines_offline import classify, keys, line_active, post

pytestmark = pytest.mark.slow  # one model trained through the state machine


def labels_in(bucket: str, key: str) -> set[str]:
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    return {row[0] for row in csv.reader(io.StringIO(body.decode())) if row}


def test_flat_taxonomy_upload_trains_one_model_of_the_paths_and_classify_answers_both_levels(
    tmp_path: Path,
) -> None:
    """Given TAXONOMY=flat and a path-labelled test set, when a PARENT/CHILD upload arrives, then one model
    (the default line) is trained on class names without '/', /classify answers the path and both levels,
    and /feedback takes a child alone under the parent predicted."""
    with running(tmp_path / "comprehend", {"Taxonomy": "flat"}) as env:
        env.stack.put("test/classifier/test.csv", datagen.to_csv(langgen.taxonomy(150, seed=99)))
        env.stack.put("train/new/tickets.csv", datagen.to_csv(langgen.taxonomy(300, seed=1)))
        results = [env.stack.wait(arn) for arn in env.stack.deliver_new_uploads()]

        assert {r["status"] for r in results} == {"SUCCEEDED"}, results
        assert line_active(env, "").serving
        assert not line_active(env, "c-orders").serving  # one model: no child lines
        paths = {f"{parent}/{child}" for child, parent in langgen.TAXONOMY.items()}
        trained = [
            k for k in keys(env, "datasets/classifier/") if k.endswith(".csv") and "/batches/" not in k
        ]
        assert any(k.endswith("/test.csv") for k in trained)  # the test set training gets, encoded too
        for key in trained:  # what Comprehend is given: the paths as class names, never a '/'
            assert labels_in(env.stack.bucket, key) == {p.replace("/", "__") for p in paths}, key

        stream = langgen.taxonomy(30, seed=5)
        answers = [classify(env, t.text) for t in stream]
        assert {status for status, _ in answers} == {200}
        for _, body in answers:
            parent, child = body["levels"]
            assert (parent["level"], child["level"]) == ("parent", "child")
            assert body["path"] == f"{parent['label']}/{child['label']}" == body["label"]
            assert body["path"] in paths
            assert {c["Name"] for c in body["classes"]} == paths
            assert child["score"] <= parent["score"] <= 1
            assert parent["model_version"] == child["model_version"] == line_active(env, "").version
        correct = sum(body["path"] == t.label for (_, body), t in zip(answers, stream, strict=True))
        assert correct / len(stream) >= 0.8

        # feedback: a child alone corrects the path under the parent predicted; a full path by text
        body, ticket = answers[0][1], stream[0]
        other = langgen.sibling(body["levels"][0]["label"], body["levels"][1]["label"])
        status, answer = post(
            env,
            "FeedbackFunction",
            "feedback/by_text.json",
            {"prediction_id": body["prediction_id"], "label": other, "text": ticket.text},
        )
        assert (status, answer.get("labels")) == (202, [f"{body['levels'][0]['label']}/{other}"]), answer
        status, answer = post(
            env,
            "FeedbackFunction",
            "feedback/by_text.json",
            {"label": "SERVICE/ACCOUNT", "text": "my login fails"},
        )
        assert (status, answer.get("labels")) == (202, ["SERVICE/ACCOUNT"]), answer
        status, answer = post(
            env,
            "FeedbackFunction",
            "feedback/by_text.json",
            {"label": "SERVICE__ACCOUNT", "text": "my login"},
        )
        assert status == 400 and "'__'" in str(answer), answer
