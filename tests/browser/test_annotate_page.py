"""The annotation tool, for real: two people annotate an entity loop in headless Chromium, they disagree, a
third adjudicates, and the accepted documents reach ``train/new/`` as an entity batch.

The local A2I runtime serves the page (``/annotate``) and hands each completed loop to ProcessReview's
code (``comprehend_al.a2i.process_review``, as the offline stack's EventBridge rule does) over moto S3.
Screenshots go to this test's folder (``annotate-*.png``); ``ANNOTATE_SCREENSHOTS=<dir>`` keeps copies.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from comprehend_al.a2i import HumanReview, process_review
from comprehend_al.annotation.audit import AuditLog
from comprehend_al.annotation.gold import GoldSet
from comprehend_al.aws.s3 import Bucket
from comprehend_al.labels import LabelDeps
from comprehend_al.settings import LoopSettings, Settings
from moto import mock_aws

from local.a2i import A2IService

pytestmark = pytest.mark.browser

REGION = "us-east-1"
BUCKET = "annotation-data"
FLOW_ARN = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/comprehend-al-annotation"
TYPES = ["PERSON", "ORGANIZATION", "LOCATION"]
HOSTILE = "Acme Corp hired Jane Doe in Paris <script>window.pwned = 1</script> last May."
ITEMS = [
    {
        "id": "news-1",
        "text": HOSTILE,
        "entities": [{"BeginOffset": 0, "EndOffset": 9, "Type": "ORGANIZATION", "Score": 0.41}],
    },
    {
        "id": "gold-7",
        "text": "Ada Lovelace lived in London.",
        "entities": [
            {"BeginOffset": 0, "EndOffset": 12, "Type": "PERSON", "Score": 0.52},
            {"BeginOffset": 22, "EndOffset": 28, "Type": "LOCATION", "Score": 0.47},
        ],
    },
    {
        "id": "news-2",
        "text": "Berlin welcomes Maria.",
        "entities": [
            {"BeginOffset": 0, "EndOffset": 6, "Type": "LOCATION", "Score": 0.55},
            {"BeginOffset": 16, "EndOffset": 21, "Type": "PERSON", "Score": 0.38},
        ],
    },
]
GUIDELINES = {
    "PERSON": "Names of people, without titles.",
    "ORGANIZATION": "Companies, agencies, institutions.",
}


class Params:
    """SSM parameters as ProcessReview reads them (a dict here)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, relative: str) -> str | None:
        return self.values.get(relative)


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[A2IService, Any, list[Any]]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        results: list[Any] = []
        holder: dict[str, Any] = {}
        settings = Settings.model_validate(
            {"DATA_BUCKET": BUCKET, "REGISTRY_TABLE": "-", "PARAMETER_PREFIX": "/t"}
        )
        params = Params({"review-flow-definition-arn": FLOW_ARN, "annotation-batch-size": "2"})

        def on_status_change(event: dict[str, Any]) -> None:  # the EventBridge rule → ProcessReview
            deps = LabelDeps(settings, LoopSettings(), None, Bucket(BUCKET, s3), params)  # type: ignore[arg-type]
            review = HumanReview(
                boto3.client("sagemaker-a2i-runtime", region_name=REGION, endpoint_url=holder["url"])
            )
            results.append(process_review(event, deps, review).as_dict())

        with A2IService(
            tmp_path / "a2i",
            output_bucket=BUCKET,
            output_prefix="review/output/",
            on_status_change=on_status_change,
        ) as service:
            assert service.url is not None
            holder["url"] = service.url
            yield service, s3, results


def _select(page: Any, editor: Any, text: str) -> None:
    """Drag the mouse over ``text`` in ``editor``, as a person selects it."""
    box = editor.evaluate(
        """(root, wanted) => {
            const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
            let node, full = "", nodes = [];
            while ((node = walker.nextNode())) { nodes.push([node, full.length]); full += node.data; }
            const start = full.indexOf(wanted), end = start + wanted.length;
            const at = offset => {
                for (const [n, base] of nodes) if (offset < base + n.data.length) return [n, offset - base];
            };
            const rect = offset => {
                const [n, o] = at(offset);
                const r = document.createRange();
                r.setStart(n, o);
                r.setEnd(n, o + 1);
                return r.getBoundingClientRect();
            };
            const first = rect(start), last = rect(end - 1);
            return [first.left + 1, first.top + first.height / 2, last.right - 1, last.top + last.height / 2];
        }""",
        text,
    )
    page.mouse.move(box[0], box[1])
    page.mouse.down()
    page.mouse.move(box[2], box[3], steps=6)
    page.mouse.up()


def _open_task(page: Any, url: str, worker: str, loop: str) -> Any:
    page.goto(f"{url}/annotate?worker={worker}")
    page.locator(f'#tasks button[data-task="{loop}"]').click()
    return page.locator(f'.task[data-loop="{loop}"]')


def _shot(page: Any, folder: Path, name: str) -> None:
    path = folder / f"annotate-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("ANNOTATE_SCREENSHOTS"):
        target = Path(os.environ["ANNOTATE_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / path.name)


def _read(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def _keys(s3: Any, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_two_annotators_disagree_an_adjudicator_decides_and_the_batch_reaches_train_new(
    browser_page: Any,
    stack: tuple[A2IService, Any, list[Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service, s3, results = stack
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME", service.url)
    GoldSet(Bucket(BUCKET, s3)).add("gold-7", ITEMS[1]["text"], ITEMS[1]["entities"])  # the model was right
    content = {
        "kind": "entities",
        "items": ITEMS,
        "types": TYPES,
        "guidelines": GUIDELINES,
        "modelVersion": "v3",
    }
    boto3.client("sagemaker-a2i-runtime", region_name=REGION).start_human_loop(
        HumanLoopName="ent-1",
        FlowDefinitionArn=FLOW_ARN,
        HumanLoopInput={"InputContent": json.dumps(content)},
    )

    # Given alice's page: the text shown as text (the <script> is not run), the model's span highlighted,
    # the guidelines beside the type buttons
    task = _open_task(page, service.url, "alice", "ent-1")
    first = task.locator('.item[data-item="news-1"] [data-role=editor]')
    assert first.inner_text().replace("ORGANIZATION", "") == HOSTILE  # the type label is CSS ::after content
    assert page.evaluate("window.pwned") is None
    assert first.locator("mark.ent").evaluate_all("ms => ms.map(m => [m.dataset.type, m.textContent])") == [
        ["ORGANIZATION", "Acme Corp"]
    ]
    assert "Names of people, without titles." in task.locator(".guidelines").inner_text()
    # When she selects "Jane Doe" and presses 1 (PERSON), selects "Paris" and presses l (LOCATION)
    _select(page, first, "Jane Doe")
    page.keyboard.press("1")
    _select(page, first, "Paris")
    page.keyboard.press("l")
    spans = first.locator("mark.ent").evaluate_all("ms => ms.map(m => [m.dataset.type, m.textContent])")
    assert spans == [["ORGANIZATION", "Acme Corp"], ["PERSON", "Jane Doe"], ["LOCATION", "Paris"]]
    _shot(page, tmp_path, "alice")
    task.get_by_role("button", name="Accept document").click()
    assert "waiting for the other annotator" in page.get_by_role("status").inner_text()

    # Given carol opens the same loop and leaves her page open
    carol = page.context.new_page()
    carol_task = _open_task(carol, service.url, "carol", "ent-1")
    # When bob types "Jane Doe" as an ORGANIZATION (key o), skips Paris, deletes a gold span and accepts
    task = _open_task(page, service.url, "bob", "ent-1")
    first = task.locator('.item[data-item="news-1"] [data-role=editor]')
    _select(page, first, "Jane Doe")
    page.keyboard.press("o")
    task.locator('.item[data-item="gold-7"] mark.ent[data-type="LOCATION"]').click()
    page.keyboard.press("Delete")
    task.get_by_role("button", name="Accept document").click()
    assert "the loop is complete" in page.get_by_role("status").inner_text()

    # Then the loop is consolidated: news-2 agreed, news-1 disputed and sent to adjudication
    [first_result] = results
    assert first_result["accepted"] == 1 and first_result["disputed"] == 1 and first_result["gold"] == 1
    assert first_result["adjudication_loop"] == "adj-ent-1"
    disputed = [e for e in AuditLog(Bucket(BUCKET, s3)).events("ent-1") if e["action"] == "disputed"]
    assert [
        (e["item"], e["details"]["agreement"]["span_f1"], e["details"]["agreement"]["kappa"])
        for e in disputed
    ] == [
        ("news-1", 0.4, 0.1429)  # 1 shared span of 3 + 2; kappa (1/3 - 2/9) / (1 - 2/9) = 1/7
    ]

    # When carol submits from her stale page, she is told so, and nothing of hers is recorded
    carol_task.get_by_role("button", name="Accept document").click()
    alert = carol.get_by_role("alert")
    alert.wait_for()
    assert "Conflict" in alert.inner_text() and "ent-1 is Completed" in alert.inner_text()
    _shot(carol, tmp_path, "conflict")
    carol.close()

    # When judy adjudicates: both versions side by side, she takes alice's and accepts it
    task = _open_task(page, service.url, "judy", "adj-ent-1")
    item = task.locator('.item[data-item="news-1"]')
    versions = item.locator(".version")
    assert versions.locator("h4 > span:first-child").all_inner_texts() == ["alice", "bob"]
    assert "span F1 0.40 · kappa 0.14" in item.locator(".figures").inner_text()
    assert page.evaluate("window.pwned") is None
    page.locator("#quality tbody tr").first.wait_for()
    _shot(page, tmp_path, "adjudication")
    item.locator('.version[data-worker="alice"]').get_by_role("button", name="Use this version").click()
    task.get_by_role("button", name="Accept final version").click()
    assert "the loop is complete" in page.get_by_role("status").inner_text()

    # Then the two accepted documents left as one entity batch under train/new/, in Comprehend's format
    assert results[-1]["batch"]["reason"] == "written", results[-1]
    [annotations_key, documents_key] = _keys(s3, "train/new/")
    assert documents_key.endswith("/documents.txt") and annotations_key.endswith("/annotations.csv")
    documents = _read(s3, documents_key).decode().splitlines()
    assert sorted(documents) == sorted([HOSTILE, "Berlin welcomes Maria."])
    rows = list(csv.reader(io.StringIO(_read(s3, annotations_key).decode())))
    assert rows[0] == ["File", "Line", "Begin Offset", "End Offset", "Type"]
    found = {(documents[int(line)][int(b) : int(e)], kind) for _, line, b, e, kind in rows[1:]}
    assert found == {
        ("Acme Corp", "ORGANIZATION"),
        ("Jane Doe", "PERSON"),
        ("Paris", "LOCATION"),
        ("Berlin", "LOCATION"),
        ("Maria", "PERSON"),
    }
    # and the batch's lineage names who labelled each document; the quality table shows the gold scores
    [lineage_key] = _keys(s3, "annotation/batches/")
    lineage = {d["item"]: d for d in json.loads(_read(s3, lineage_key))["documents"]}
    assert lineage["news-1"]["adjudicator"] == "judy" and lineage["news-1"]["annotators"] == ["alice", "bob"]
    assert lineage["news-2"]["decision"] == "agreed" and lineage["news-2"]["annotators"] == ["alice", "bob"]
    page.goto(f"{service.url}/annotate?worker=judy")
    page.locator('#quality tr[data-worker="bob"]').wait_for()
    quality = {
        r.get_attribute("data-worker"): r.locator("td").all_inner_texts()
        for r in page.locator("#quality tbody tr").all()
    }
    # gold accuracy, gold answers, documents, and agreement with the co-annotator: news-1 (F1 0.4, kappa 1/7)
    # and news-2 (1, 1) give mean F1 0.70 and kappa 0.57
    assert quality["alice"][1:] == ["1.00", "1", "2", "0.70", "0.57"], quality
    assert quality["bob"][1:] == ["0.67", "1", "2", "0.70", "0.57"], quality
    assert errors == []


CROWD_STUB = "customElements.define('crowd-form', class extends HTMLElement {});"


def _as_a2i_renders(template: str, content: dict[str, Any]) -> str:
    """What A2I's Liquid makes of the template for ``content`` (HTML-escaped output, raw blocks kept)."""
    page = template.replace("{% raw %}", "").replace("{% endraw %}", "")
    page = page.replace("{{ task.input.sourceLoop | default: 'annotation' | escape }}", "annotation")
    page = page.replace("{{ task.input | to_json | escape }}", html.escape(json.dumps(content), quote=True))
    assert "{{" not in page and "{%" not in page, "a Liquid expression this test does not render"
    return page


def test_the_a2i_worker_template_is_the_same_tool_and_fills_crowd_forms_answer_field(
    browser_page: Any, tmp_path: Path
) -> None:
    # Given the worker template as A2I renders it for an entity loop whose text is hostile markup
    from local.annotate_template import TARGET, render

    assert TARGET.read_text(encoding="utf-8") == render(), "run `make annotation-template`"
    hostile = 'Acme Corp hired Jane Doe "</div><script>window.pwned = 1</script>'
    content = {
        "kind": "entities",
        "types": TYPES,
        "guidelines": GUIDELINES,
        "items": [
            {
                "id": "news-1",
                "text": hostile,
                "entities": [{"BeginOffset": 0, "EndOffset": 9, "Type": "ORGANIZATION"}],
            }
        ],
    }
    page = browser_page
    page.route(
        "https://assets.crowd.aws/**",
        lambda route: route.fulfill(body=CROWD_STUB, content_type="text/javascript"),
    )
    page.route(
        "https://worker.test/task",
        lambda route: route.fulfill(
            body=_as_a2i_renders(TARGET.read_text(encoding="utf-8"), content), content_type="text/html"
        ),
    )
    page.goto("https://worker.test/task")
    editor = page.locator('.item[data-item="news-1"] [data-role=editor]')
    # When the worker marks "Jane Doe" as a PERSON with the keyboard
    _select(page, editor, "Jane Doe")
    page.keyboard.press("p")
    _shot(page, tmp_path, "worker-template")
    # Then the text stayed text, and crowd-form's hidden field holds the answer A2I will store
    assert page.evaluate("window.pwned") is None
    assert hostile in editor.inner_text().replace("ORGANIZATION", "").replace("PERSON", "")
    answer = json.loads(page.locator("#answer-field").input_value())
    assert answer == {
        "news-1": [
            {"BeginOffset": 0, "EndOffset": 9, "Type": "ORGANIZATION"},
            {"BeginOffset": 16, "EndOffset": 24, "Type": "PERSON"},
        ]
    }
    assert page.locator("#answer-field").get_attribute("name") == "entities"


def test_a_classifier_loop_is_answered_in_the_same_tool_by_choosing_a_class(
    browser_page: Any, tmp_path: Path
) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        with A2IService(tmp_path / "a2i", output_bucket=BUCKET) as service:
            # Given a classifier review loop (its existing input: items with scores, labels)
            content = {
                "items": [
                    {
                        "id": "p-1",
                        "text": "I was charged <b>twice</b>",
                        "scores": [{"Name": "BILLING", "Score": 0.4}],
                    }
                ],
                "labels": ["BILLING", "SHIPPING"],
                "multiLabel": False,
            }
            service.start_human_loop(
                {
                    "HumanLoopName": "p-1",
                    "FlowDefinitionArn": FLOW_ARN,
                    "HumanLoopInput": {"InputContent": json.dumps(content)},
                }
            )
            # When a person opens it, presses 2 (SHIPPING) and accepts
            task = _open_task(browser_page, service.url, "alice", "p-1")
            assert task.locator(".text").inner_text() == "I was charged <b>twice</b>"
            browser_page.keyboard.press("2")
            assert task.get_by_role("radio", name="SHIPPING").is_checked()
            task.get_by_role("button", name="Accept document").click()
            assert "the loop is complete" in browser_page.get_by_role("status").inner_text()
            # Then output.json holds the class in the classifier's answer form
            uri = service.describe_human_loop("p-1")["HumanLoopOutput"]["OutputS3Uri"]
            output = json.loads(_read(s3, uri.split("/", 3)[3]))
            [answer] = output["humanAnswers"]
            assert (answer["workerId"], answer["answerContent"]) == ("alice", {"label-p-1": "SHIPPING"})
