"""Model lines end to end in the offline stack: one model per language, and a taxonomy's nested models.

Uploads go where a user puts them (``train/new/<lang>/…``, a test set per line), the real state machine
trains every line, and ``/classify`` routes each text by the language the local DetectDominantLanguage
(a real detector) finds in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from comprehend_al.models import ModelKind
from comprehend_al.pointers import Active, Pointers
from comprehend_al.store.registry import Registry

from local import datagen, langgen
from local.stack import REGION, Offline, _StackParameters, running

pytestmark = pytest.mark.slow  # three lines trained: ~50 s

EVENTS = Path(__file__).resolve().parents[2] / "events"
TRAINED = ["en", "es", "fr"]
ROUTED = {"LanguageRouting": "true", "Languages": "en,es,fr,de,it,pt"}


def line_active(env: Offline, line: str) -> Active:
    return Pointers(_StackParameters(env.stack), line=line).read(ModelKind.CLASSIFIER)


def post(env: Offline, function: str, sample: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    event = json.loads((EVENTS / sample).read_text())
    event["body"] = json.dumps(body)
    result, error = env.router.invoke(function, event)
    assert error is None, result
    return int(result["statusCode"]), json.loads(result["body"])


def classify(env: Offline, text: str) -> tuple[int, dict[str, Any]]:
    return post(env, "ClassifyFunction", "classify/text.json", {"text": text})


def keys(env: Offline, prefix: str) -> list[str]:
    s3 = boto3.client("s3", region_name=REGION)
    return sorted(
        o["Key"] for o in s3.list_objects_v2(Bucket=env.stack.bucket, Prefix=prefix).get("Contents", [])
    )


def upload_languages(env: Offline, languages: list[str]) -> list[dict[str, Any]]:
    """Each language's test set, then each language's first upload; the executions they start."""
    for lang in languages:
        test = datagen.to_csv(langgen.generate(60, lang, seed=99))
        env.stack.put(f"test/{lang}/classifier/test.csv", test)
    for lang in languages:
        env.stack.put(f"train/new/{lang}/first.csv", datagen.to_csv(langgen.generate(90, lang, seed=1)))
    return [env.stack.wait(arn) for arn in env.stack.deliver_new_uploads()]


@pytest.fixture(scope="module")
def languages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    """A stack routing by language, with the en, es and fr lines trained (one stack for this module's
    tests: training three lines is the slow part)."""
    with running(tmp_path_factory.mktemp("lines") / "comprehend", ROUTED) as env:
        results = upload_languages(env, TRAINED)
        assert {r["status"] for r in results} == {"SUCCEEDED"}
        yield env


def test_uploads_in_three_languages_train_three_model_lines(languages: Offline) -> None:
    """Given uploads under train/new/en, es and fr, when the lifecycle ran, then each language has its own
    model and endpoint, its own registry records, and the default line has none."""
    actives = {lang: line_active(languages, lang) for lang in TRAINED}

    assert all(a.serving for a in actives.values())
    assert len({a.endpoint_arn for a in actives.values()}) == 3
    assert all(f"classifier-{lang}/version/" in str(a.model_arn) for lang, a in actives.items())
    assert not line_active(languages, "").serving and not line_active(languages, "de").serving
    registry = Registry(languages.stack.outputs["RegistryTableName"])
    assert registry.models(ModelKind.CLASSIFIER) == []
    listed = keys(languages, "train/")
    assert [key.split("/")[2] for key in listed] == TRAINED  # train/processed/<lang>/…


def test_mixed_language_stream_is_routed_to_each_language_model(languages: Offline) -> None:
    """Given three language lines, when tickets in those languages arrive mixed, then each is answered by
    its language's model, with the language it was detected in, and classified right."""
    stream = [t for lang in TRAINED for t in langgen.generate(12, lang, seed=7)]
    expected_lang = [lang for lang in TRAINED for _ in range(12)]

    answers = [classify(languages, t.text) for t in stream]

    assert {status for status, _ in answers} == {200}
    assert [body["language"] for _, body in answers] == expected_lang
    assert [body["line"] for _, body in answers] == expected_lang
    assert all(body["model_version"] == line_active(languages, body["line"]).version for _, body in answers)
    correct = sum(body["label"] == t.label for (_, body), t in zip(answers, stream, strict=True))
    assert correct / len(stream) >= 0.9


def test_language_without_a_model_is_answered_422_naming_it(languages: Offline) -> None:
    """Given no model for German (configured, never trained) nor for Dutch (not configured), when a text in
    either is classified, then 422 unsupported_language names the language; no prediction is made."""
    for lang in ("de", "nl"):
        [ticket] = langgen.generate(1, lang, seed=3)

        status, body = classify(languages, ticket.text)

        assert (status, body["error"]["code"], body["error"]["field"]) == (
            422,
            "unsupported_language",
            "text",
        )
        assert f"'{lang}'" in body["error"]["message"] and "en, es, fr" in body["error"]["message"]


def test_a_correction_of_a_spanish_prediction_trains_the_spanish_line(languages: Offline) -> None:
    """Given a Spanish ticket answered by the es line, when the user corrects it and the schedule flushes,
    then the correction is an upload under train/new/es/ that the lifecycle merges as an es batch (the
    default line gets nothing). Last in this module: the es line retrains."""
    from comprehend_al.lines import LineRegistry

    [ticket] = langgen.generate(1, "es", seed=31)
    status, answer = classify(languages, ticket.text)
    assert (status, answer["line"]) == (200, "es")
    other = next(c["Name"] for c in answer["classes"] if c["Name"] != answer["label"])
    body = {"prediction_id": answer["prediction_id"], "label": other, "text": ticket.text}
    status, _ = post(languages, "FeedbackFunction", "feedback/by_prediction_id.json", body)
    assert status == 202

    schedule = json.loads((EVENTS / "flush_labels" / "scheduled.json").read_text())
    flushed, error = languages.router.invoke("FlushLabelsFunction", schedule)

    assert error is None and len(flushed["keys"]) == 1, flushed
    assert flushed["keys"][0].startswith("train/new/es/feedback-")
    results = [languages.stack.wait(arn) for arn in languages.stack.deliver_new_uploads()]
    assert [r["status"] for r in results] == ["SUCCEEDED"]
    registry = Registry(languages.stack.outputs["RegistryTableName"])
    spanish = LineRegistry(registry, "es").batches(ModelKind.CLASSIFIER)
    assert [b.source for b in spanish if "feedback-" in b.source] == [flushed["keys"][0]]
    assert registry.batches(ModelKind.CLASSIFIER) == []  # nothing reached the default line
