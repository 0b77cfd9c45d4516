"""Drift, offline end to end: live traffic through /classify, the monitor, and the template's drift alarm.

The template is deployed into moto with the local Comprehend service; a first classifier is trained, tested
(its test-job predictions become the drift baseline) and promoted. Tickets then stream through the real
``ClassifyFunction``; the real ``MonitorFunction`` runs with metrics on, and its EMF output (what CloudWatch
would ingest) is read back and judged with the ``DriftAlarm`` of ``template.yaml``: its metric, dimensions,
statistic, comparison and default threshold.

Between scenarios the live counters are cleared: the drift window moving on to fresh traffic.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from local import datagen
from local.stack import REGION, Offline, load_template, running

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
CLASSIFY_EVENT = json.loads((EVENTS / "classify" / "text.json").read_text())
MONITOR_EVENT = json.loads((EVENTS / "monitor" / "schedule.json").read_text())
PARAMETERS = {"DriftMinPredictions": "50"}
LABELS = sorted(datagen.TOPICS)
NEW_TOPIC = {  # a topic the model was never trained on: holiday bookings
    "nouns": ["hotel room", "flight", "booking", "beach villa", "ski pass", "itinerary", "boarding pass"],
    "verbs": ["was cancelled", "got rebooked", "is overbooked", "needs a new date", "was upgraded"],
    "details": ["for our honeymoon", "in Lisbon", "over Easter", "for four guests", "near the airport"],
}


def _holiday_tickets(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(datagen.GENERIC).capitalize()}, the {rng.choice(NEW_TOPIC['nouns'])} "
        f"{rng.choice(NEW_TOPIC['verbs'])} {rng.choice(NEW_TOPIC['details'])}."
        for _ in range(n)
    ]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    with running(tmp_path_factory.mktemp("drift") / "comprehend", PARAMETERS) as offline:
        offline.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(200, seed=99)))
        result = offline.stack.upload("train/new/seed.csv", datagen.to_csv(datagen.generate(400, seed=1)))
        assert result["status"] == "SUCCEEDED", result
        yield offline


def _classify(env: Offline, texts: list[str]) -> None:
    for text in texts:
        event = json.loads(json.dumps(CLASSIFY_EVENT))
        event["body"] = json.dumps({"text": text})
        result, error = env.router.invoke("ClassifyFunction", event)
        assert error is None and result["statusCode"] == 200, result


def _new_window(env: Offline) -> None:
    """The window moves on: the live counters of the active version are gone."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(env.stack.outputs["PredictionsTableName"])
    version = env.stack.active().version
    items = table.query(KeyConditionExpression=Key("pk").eq(f"LIVE#classifier#{version}"))["Items"]
    for item in items:
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})


def _monitor(env: Offline, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the monitor with metrics on: (its report, the EMF documents it printed)."""
    capsys.readouterr()
    env.router.base_env["POWERTOOLS_METRICS_DISABLED"] = "false"
    try:
        report, error = env.router.invoke("MonitorFunction", MONITOR_EVENT)
    finally:
        env.router.base_env["POWERTOOLS_METRICS_DISABLED"] = "true"
    assert error is None, report
    emf = []
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            emf.append(json.loads(line))
    return report, emf


def _alarm_fires(alarm_name: str, emf: list[dict[str, Any]]) -> tuple[bool, float | None, float]:
    """Would the template's alarm be in ALARM on these data points? (fires, statistic, threshold)."""
    template = load_template()
    alarm = template["Resources"][alarm_name]["Properties"]
    ref = alarm["Threshold"]["Ref"]
    threshold = float(template["Parameters"][ref]["Default"])
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    values = []
    for document in emf:
        [directive] = document["_aws"]["CloudWatchMetrics"]
        names = {m["Name"] for m in directive["Metrics"]}
        dims = {name: document[name] for group in directive["Dimensions"] for name in group}
        same_metric = directive["Namespace"] == alarm["Namespace"] and alarm["MetricName"] in names
        if same_metric and dims == dimensions:
            value = document[alarm["MetricName"]]
            values += value if isinstance(value, list) else [value]
    if not values:  # TreatMissingData: notBreaching
        assert alarm["TreatMissingData"] == "notBreaching"
        return False, None, threshold
    statistic = {"Maximum": max, "Minimum": min}[alarm["Statistic"]](values)
    compare = {
        "GreaterThanThreshold": statistic > threshold,
        "GreaterThanOrEqualToThreshold": statistic >= threshold,
        "LessThanThreshold": statistic < threshold,
    }[alarm["ComparisonOperator"]]
    return compare, statistic, threshold


def _figures(report: dict[str, Any]) -> str:
    drift = report["drift"]
    return (
        f"n={drift['predictions']} DriftScore={drift['drift_score']:.3f} label PSI={drift['label_psi']:.3f} "
        f"JS={drift['label_js']:.3f} confidence PSI={drift['confidence_psi']:.3f} "
        f"low-confidence {drift['low_confidence_rate']:.2f} "
        f"(baseline {drift['baseline_low_confidence_rate']:.2f}) "
        f"OOV {drift['oov_share']:.3f} (baseline {drift['baseline_oov_share']:.3f}) moved={drift['moved']}"
    )


def test_traffic_like_the_training_data_stays_under_the_drift_alarm(
    env: Offline, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given 200 new tickets from the distribution the model was trained on
    _new_window(env)
    _classify(env, [t.text for t in datagen.generate(200, seed=5)])
    # When the monitor runs
    report, emf = _monitor(env, capsys)
    # Then the drift figures stay under the alarm's threshold, and the alarm's condition is not met
    fires, score, threshold = _alarm_fires("DriftAlarm", emf)
    with capsys.disabled():
        print(f"\nin distribution: {_figures(report)}")
    assert report["drift"]["enough"] is True and score is not None
    assert score < threshold and not fires, _figures(report)
    assert report["drift"]["moved"] == []


def test_one_label_tripled_crosses_the_drift_alarm_and_names_the_label(
    env: Offline, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given 210 tickets in which BILLING's share is three times what it was (3/7 instead of 1/5)
    _new_window(env)
    labels = ["BILLING"] * 3 + [label for label in LABELS if label != "BILLING"]
    _classify(env, [t.text for t in datagen.generate(210, seed=6, labels=labels)])
    # When the monitor runs
    report, emf = _monitor(env, capsys)
    # Then the drift score crosses the threshold, the alarm's condition is met, and BILLING moved most
    fires, score, threshold = _alarm_fires("DriftAlarm", emf)
    with capsys.disabled():
        print(f"\nBILLING tripled: {_figures(report)}")
    assert score is not None and score > threshold and fires, _figures(report)
    assert report["drift"]["moved"][0] == "BILLING"


def test_a_new_topic_crosses_the_drift_alarm_with_low_confidence_and_unknown_words(
    env: Offline, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given 150 tickets about a topic the model never saw (holiday bookings) among 50 known ones
    _new_window(env)
    _classify(env, _holiday_tickets(150, seed=7) + [t.text for t in datagen.generate(50, seed=8)])
    # When the monitor runs
    report, emf = _monitor(env, capsys)
    # Then the alarm's condition is met; the confidences moved and the share of unknown words rose
    fires, score, threshold = _alarm_fires("DriftAlarm", emf)
    drift = report["drift"]
    with capsys.disabled():
        print(f"\nnew topic: {_figures(report)}")
    assert score is not None and score > threshold and fires, _figures(report)
    assert drift["confidence_psi"] > 0.1
    assert drift["oov_share"] > 2 * drift["baseline_oov_share"]


def test_live_accuracy_is_the_share_of_corrections_that_agree_with_the_prediction(
    env: Offline, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given four predictions, three confirmed by their users and one corrected to another label
    _new_window(env)
    answers = []
    for ticket in datagen.generate(4, seed=9):
        event = json.loads(json.dumps(CLASSIFY_EVENT))
        event["body"] = json.dumps({"text": ticket.text})
        result, error = env.router.invoke("ClassifyFunction", event)
        assert error is None, result
        answers.append((ticket.text, json.loads(result["body"])))
    feedback_event = json.loads((EVENTS / "feedback" / "by_prediction_id.json").read_text())
    for i, (text, answer) in enumerate(answers):
        label = answer["label"] if i else next(x for x in LABELS if x != answer["label"])
        feedback_event["body"] = json.dumps(
            {"prediction_id": answer["prediction_id"], "text": text, "label": label}
        )
        result, error = env.router.invoke("FeedbackFunction", feedback_event)
        assert error is None and result["statusCode"] == 202, result
    # When the monitor runs
    report, emf = _monitor(env, capsys)
    # Then live accuracy is 3 / 4 over 4 labels, above the alarm's threshold (0.7): no alarm
    assert (report["live_accuracy"], report["live_labels"]) == (0.75, 4)
    fires, value, threshold = _alarm_fires("LiveAccuracyAlarm", emf)
    assert value == 0.75 and threshold == 0.7 and not fires
