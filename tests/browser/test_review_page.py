"""A person's review, for real: headless Chromium answers a loop on the local A2I review page.

Needs Debian's ``chromium`` package (``/usr/bin/chromium``) and Playwright for Python (``pip install
playwright``; its own browser download, ``playwright install``, is not used). Without them the test is
skipped, except under ``CI``, where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.a2i import A2IService

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REGION = "us-east-1"
BUCKET = "review-output"
FLOW_ARN = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/classifier-review"
LABELS = ["billing question", "late-delivery", "refund & returns", "other"]
ITEMS = [
    {
        "id": "msg-17",
        "text": 'My parcel <order #4521> still says "in transit" & nobody answers.',
        "scores": [{"Name": "late-delivery", "Score": 0.48}, {"Name": "other", "Score": 0.31}],
    },
    {
        "id": "msg-18",
        "text": "I was charged twice for the same order, I'd like one payment back.",
        "scores": [{"Name": "billing question", "Score": 0.52}, {"Name": "refund & returns", "Score": 0.44}],
    },
]


def _require(what: str, present: bool) -> None:
    """Skip when a browser dependency is missing on a workstation; fail under CI."""
    if present:
        return
    reason = f"{what} is not installed (apt-get install -y chromium; pip install playwright)"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set and {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    _require(f"Chromium ({CHROMIUM})", CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require("Playwright for Python", False)
        raise
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh profile every run
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 900},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            context.close()


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_a_reviewer_labels_a_loop_in_the_browser(
    browser_page: Any, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = browser_page
    events: list[dict[str, Any]] = []
    with A2IService(tmp_path / "a2i", output_bucket=BUCKET, on_status_change=events.append) as service:
        assert service.url is not None
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME", service.url)
        a2i = boto3.client("sagemaker-a2i-runtime", region_name=REGION)
        # Given a loop with two items waiting for review
        content = {"items": ITEMS, "labels": LABELS, "modelVersion": "v7"}
        a2i.start_human_loop(
            HumanLoopName="review-1",
            FlowDefinitionArn=FLOW_ARN,
            HumanLoopInput={"InputContent": json.dumps(content)},
        )

        # When a person opens the review page
        page.goto(f"{service.url}/review")
        loop = page.locator('section[data-loop="review-1"]')
        first, second = (
            loop.locator('fieldset[data-item="msg-17"]'),
            loop.locator('fieldset[data-item="msg-18"]'),
        )
        # Then the texts show as text (escaped, not markup) and every item offers the loop's labels
        assert first.locator("blockquote").inner_text() == ITEMS[0]["text"]
        for item in (first, second):
            assert item.get_by_role("radio").count() == len(LABELS)
            assert [item.get_by_label(label, exact=True).count() for label in LABELS] == [1] * len(LABELS)

        # When they submit with an item unanswered, the browser holds the form back
        first.get_by_label("late-delivery", exact=True).check()
        assert loop.locator("form").evaluate("form => form.checkValidity()") is False
        loop.get_by_role("button", name="Submit review-1").click()
        assert a2i.describe_human_loop(HumanLoopName="review-1")["HumanLoopStatus"] == "InProgress"

        # When they answer both items and submit
        second.get_by_label("refund & returns", exact=True).check()
        page.screenshot(path=str(tmp_path / "review-page.png"), full_page=True)
        loop.get_by_role("button", name="Submit review-1").click()
        page.get_by_role("status").wait_for()

        # Then the page confirms, the loop is Completed and output.json holds the answers
        assert "Submitted review-1" in page.get_by_role("status").inner_text()
        assert page.locator('section[data-loop="review-1"]').count() == 0
        described = a2i.describe_human_loop(HumanLoopName="review-1")
        assert described["HumanLoopStatus"] == "Completed"
        uri = described["HumanLoopOutput"]["OutputS3Uri"]
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        output = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        assert bucket == BUCKET and key.startswith("a2i-output/classifier-review/")
        assert output["humanLoopName"] == "review-1"
        assert output["inputContent"] == content
        [answer] = output["humanAnswers"]
        assert answer["answerContent"] == {
            "label-msg-17": "late-delivery",
            "label-msg-18": "refund & returns",
        }
        assert answer["timeSpentInSeconds"] > 0
        assert [event["detail"]["humanLoopStatus"] for event in events] == ["Completed"]
