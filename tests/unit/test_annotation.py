"""Annotation by people: agreement figures, span checks, gold quality control, consolidation, batches."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from comprehend_al.annotation.agreement import (
    annotator_agreement,
    cohen_kappa,
    document_agreement,
    span_f1,
    type_kappa,
    type_units,
)
from comprehend_al.annotation.audit import AuditLog
from comprehend_al.annotation.batch import flush_accepted
from comprehend_al.annotation.gold import AnnotatorRecord, GoldSet, mix_gold
from comprehend_al.annotation.process import AnnotationDeps, process_annotation
from comprehend_al.annotation.quality import report
from comprehend_al.annotation.spans import Span, parse_answers, parse_spans
from comprehend_al.datasets.entities import validate_upload
from comprehend_al.errors import InvalidRequest, ResourceInUse, ResourceNotFound
from sklearn.metrics import cohen_kappa_score

ALICE = [Span(0, 9, "ORGANIZATION"), Span(16, 24, "PERSON"), Span(28, 33, "LOCATION")]
BOB = [Span(0, 9, "ORGANIZATION"), Span(16, 24, "ORGANIZATION")]
TEXT = "Acme Corp hired Jane Doe in Paris last May."
TYPES = ["PERSON", "ORGANIZATION", "LOCATION"]


class MemoryObjects:
    """An S3 bucket in a dict (get raises ResourceNotFound as the adapter does)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes:
        if key not in self.data:
            raise ResourceNotFound(key)
        return self.data[key]

    def put(self, key: str, body: bytes, *, content_type: str = "") -> None:
        self.data[key] = body

    def list(self, prefix: str) -> Iterator[Any]:
        for key in sorted(self.data):
            if key.startswith(prefix):
                yield type("Info", (), {"key": key})()

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


class Starter:
    def __init__(self) -> None:
        self.started: list[tuple[str, str, dict[str, Any]]] = []

    def start(self, name: str, flow_definition_arn: str, content: dict[str, Any]) -> str:
        if any(started == name for started, _, _ in self.started):
            raise ResourceInUse(f"StartHumanLoop: ConflictException: {name} exists")  # as the adapter says
        self.started.append((name, flow_definition_arn, content))
        return f"arn:loop/{name}"


def _json(spans: list[Span]) -> list[dict[str, Any]]:
    return [s.as_json() for s in spans]


def _output(
    name: str, items: list[dict[str, Any]], answers: dict[str, dict[str, list[Span]]], **extra: Any
) -> dict[str, Any]:
    return {
        "humanLoopName": name,
        "inputContent": {"kind": "entities", "items": items, "types": TYPES, **extra},
        "humanAnswers": [
            {
                "workerId": worker,
                "submissionTime": f"2026-11-30T08:0{n}:00.000Z",
                "answerContent": {"entities": {item: _json(spans) for item, spans in per_item.items()}},
            }
            for n, (worker, per_item) in enumerate(answers.items())
        ],
    }


# --- agreement ------------------------------------------------------------------------------------------
def test_span_f1_counts_exact_offsets_and_type_matches() -> None:
    # 1 span shared of 3 + 2: F1 = 2·1 / 5
    assert span_f1(ALICE, BOB) == pytest.approx(0.4)
    assert span_f1([], []) == 1.0
    assert span_f1(ALICE, []) == 0.0
    assert span_f1([Span(0, 9, "ORGANIZATION")], [Span(0, 8, "ORGANIZATION")]) == 0.0  # off by one character


def test_kappa_on_types_matches_the_hand_computed_value() -> None:
    # units (0,9) ORG/ORG, (16,24) PERSON/ORG, (28,33) LOCATION/O: p_o = 1/3, p_e = (1·2)/9, kappa = 1/7
    assert type_units(ALICE, BOB) == (
        ["ORGANIZATION", "PERSON", "LOCATION"],
        ["ORGANIZATION", "ORGANIZATION", "O"],
    )
    assert type_kappa(ALICE, BOB) == pytest.approx(1 / 7)


def test_kappa_agrees_with_scikit_learn() -> None:
    rng = random.Random(7)
    for _ in range(50):
        n = rng.randint(2, 30)
        first = [rng.choice("ABCO") for _ in range(n)]
        second = [x if rng.random() < 0.6 else rng.choice("ABCO") for x in first]
        if len(set(first) | set(second)) < 2:
            continue
        assert cohen_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second))


def test_kappa_edge_cases_have_defined_values() -> None:
    assert cohen_kappa([], []) == 1.0  # neither found anything
    assert cohen_kappa(["PERSON"], ["PERSON"]) == 1.0  # p_e = 1 and full agreement
    assert cohen_kappa(["PERSON", "O"], ["O", "PERSON"]) == pytest.approx(-1.0)


def test_document_and_annotator_agreement() -> None:
    doc = document_agreement("d1", {"alice": ALICE, "bob": BOB})
    assert (doc.span_f1, round(doc.kappa, 4), doc.agreed) == (pytest.approx(0.4), 0.1429, False)
    assert document_agreement("d2", {"alice": ALICE, "bob": list(ALICE)}).agreed is True
    figures = annotator_agreement([{"alice": ALICE, "bob": BOB}, {"alice": ALICE, "bob": ALICE, "carol": []}])
    # alice: doc 1 F1 0.4, doc 2 mean(1.0 vs bob, 0.0 vs carol) = 0.5 → 0.45
    assert figures["alice"].span_f1 == pytest.approx(0.45) and figures["alice"].documents == 2
    assert figures["carol"].span_f1 == 0.0 and figures["carol"].documents == 1


# --- offsets, checked server side ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spans", "message"),
    [
        (
            [{"BeginOffset": 0, "EndOffset": 99, "Type": "PERSON"}],
            "span 1: offsets 0-99 are not a non-empty range",
        ),
        ([{"BeginOffset": 5, "EndOffset": 5, "Type": "PERSON"}], "offsets 5-5"),
        ([{"BeginOffset": -1, "EndOffset": 4, "Type": "PERSON"}], "offsets -1-4"),
        ([{"BeginOffset": "0", "EndOffset": 4, "Type": "PERSON"}], "BeginOffset must be an integer"),
        ([{"BeginOffset": True, "EndOffset": 4, "Type": "PERSON"}], "BeginOffset must be an integer"),
        ([{"BeginOffset": 0, "EndOffset": 4, "Type": "DATE"}], "Type 'DATE' is not one of the loop's types"),
        ([{"BeginOffset": 0, "EndOffset": 4, "Type": "person"}], "UPPER_SNAKE"),
        ([{"BeginOffset": 9, "EndOffset": 10, "Type": "PERSON"}], "holds only whitespace"),
        (
            [
                {"BeginOffset": 0, "EndOffset": 9, "Type": "PERSON"},
                {"BeginOffset": 5, "EndOffset": 12, "Type": "PERSON"},
            ],
            "spans 0-9 and 5-12 overlap",
        ),
        ("PERSON", "must be a list of spans"),
    ],
)
def test_bad_spans_are_refused_naming_item_span_and_field(spans: Any, message: str) -> None:
    with pytest.raises(InvalidRequest, match=r"^item news-1") as raised:
        parse_spans(spans, TEXT, TYPES, item="item news-1")
    assert message in str(raised.value)


def test_offsets_count_code_points_not_utf16_units() -> None:
    text = "😀 Zoë Ng"  # the emoji is one code point (two UTF-16 units)
    assert parse_spans([{"BeginOffset": 2, "EndOffset": 8, "Type": "PERSON"}], text) == [Span(2, 8, "PERSON")]


def test_every_item_needs_an_answer_and_unknown_items_are_refused() -> None:
    document = {
        "kind": "entities",
        "items": [{"id": "a", "text": TEXT}, {"id": "b", "text": TEXT}],
        "types": TYPES,
    }
    with pytest.raises(InvalidRequest, match="no answer for item"):
        parse_answers({"a": []}, document)
    with pytest.raises(InvalidRequest, match="no item 'c'"):
        parse_answers({"a": [], "b": [], "c": []}, document)
    assert parse_answers({"a": [], "b": _json(BOB)}, document) == {"a": [], "b": BOB}


# --- gold quality control ----------------------------------------------------------------------------------
def test_an_annotator_is_held_only_below_the_threshold_after_enough_gold_answers() -> None:
    record = AnnotatorRecord("careless", gold_answers=1, gold_f1_sum=0.5)
    assert record.held(threshold=0.8, min_gold=2) is False  # one gold answer is not evidence enough
    record = AnnotatorRecord("careless", gold_answers=2, gold_f1_sum=1.58)
    assert record.gold_accuracy == pytest.approx(0.79) and record.held(threshold=0.8, min_gold=2) is True
    assert AnnotatorRecord("ok", gold_answers=2, gold_f1_sum=1.6).held(threshold=0.8, min_gold=2) is False
    assert AnnotatorRecord("new").held() is False and AnnotatorRecord("new").gold_accuracy is None


def test_gold_items_look_like_any_other_item() -> None:
    objects = MemoryObjects()
    gold = GoldSet(objects)
    gold.add("g-1", TEXT, _json(ALICE), entities=_json(BOB))
    [document] = gold.all()
    assert document.answer == tuple(ALICE)
    mixed = mix_gold([{"id": "n-1", "text": "x", "entities": []}], gold.all(), 1, seed=3)
    assert {json.dumps(sorted(item)) for item in mixed} == {
        json.dumps(["entities", "id", "text"])
    }  # no answer


# --- ProcessReview for annotation loops ------------------------------------------------------------------
def _deps(objects: MemoryObjects, starter: Starter, batch_size: int = 100) -> AnnotationDeps:
    params = {"review-flow-definition-arn": "arn:flow/review", "annotation-batch-size": str(batch_size)}
    return AnnotationDeps(objects, type("P", (), {"get": lambda self, name: params.get(name)})(), starter)


ITEMS = [
    {"id": "n-1", "text": TEXT, "entities": _json(BOB[:1])},
    {"id": "n-2", "text": "Berlin welcomes Maria."},
]
AGREED = [Span(0, 6, "LOCATION"), Span(16, 21, "PERSON")]


def test_agreeing_documents_are_accepted_and_disputed_ones_go_to_one_adjudication_loop() -> None:
    objects, starter = MemoryObjects(), Starter()
    output = _output(
        "ent-1", ITEMS, {"alice": {"n-1": ALICE, "n-2": AGREED}, "bob": {"n-1": BOB, "n-2": AGREED}}
    )
    result = process_annotation("ent-1", output, _deps(objects, starter))
    assert (result.accepted, result.disputed, result.adjudication_loop) == (1, 1, "adj-ent-1")
    [(name, flow, content)] = starter.started
    assert (name, flow, content["kind"], content["sourceLoop"]) == (
        "adj-ent-1",
        "arn:flow/review",
        "adjudication",
        "ent-1",
    )
    [item] = content["items"]
    assert item["id"] == "n-1" and [v["worker"] for v in item["versions"]] == ["alice", "bob"]
    assert item["agreement"]["span_f1"] == 0.4
    # every action is audited: who, when, what changed (the model's span before, the worker's after)
    events = AuditLog(objects).history("n-1")
    alice = next(e for e in events if e["worker"] == "alice")
    assert alice["action"] == "annotated" and alice["at"] == "2026-11-30T08:00:00.000Z"
    assert alice["details"]["before"] == _json(BOB[:1]) and alice["details"]["after"] == _json(ALICE)


def test_adjudicated_and_agreed_documents_become_one_valid_batch_with_lineage() -> None:
    objects, starter = MemoryObjects(), Starter()
    entity = _output(
        "ent-1", ITEMS, {"alice": {"n-1": ALICE, "n-2": AGREED}, "bob": {"n-1": BOB, "n-2": AGREED}}
    )
    process_annotation("ent-1", entity, _deps(objects, starter, batch_size=2))
    [(_, _, adjudication)] = starter.started
    judged = {
        "inputContent": adjudication,
        "humanAnswers": [
            {
                "workerId": "judy",
                "submissionTime": "t",
                "answerContent": {"entities": json.dumps({"n-1": _json(BOB)})},
            }
        ],
    }
    result = process_annotation("adj-ent-1", judged, _deps(objects, starter, batch_size=2))
    assert result.batch.reason == "written" and result.batch.documents == 2
    folder = result.batch.key.rsplit("/", 1)[0] + "/"  # type: ignore[union-attr]
    upload = validate_upload(
        objects.data[folder + "documents.txt"],
        objects.data[folder + "annotations.csv"],
        documents_file="documents.txt",
        annotations_file="annotations.csv",
    )
    assert sorted(upload.documents) == sorted(["Berlin welcomes Maria.", TEXT])
    found = {(upload.documents[a.doc_index][a.begin : a.end], a.type) for a in upload.annotations}
    assert found == {
        ("Berlin", "LOCATION"),
        ("Maria", "PERSON"),
        ("Acme Corp", "ORGANIZATION"),
        ("Jane Doe", "ORGANIZATION"),
    }
    [lineage_key] = [k for k in objects.data if k.startswith("annotation/batches/")]
    lineage = json.loads(objects.data[lineage_key])["documents"]
    assert sorted((d["item"], d["decision"], d["annotators"], d["adjudicator"]) for d in lineage) == [
        ("n-1", "adjudicated", ["alice", "bob"], "judy"),
        ("n-2", "agreed", ["alice", "bob"], None),
    ]
    assert all(
        upload.documents[d["line"]] == {"n-1": TEXT, "n-2": "Berlin welcomes Maria."}[d["item"]]
        for d in lineage
    )
    assert not [k for k in objects.data if k.startswith("annotation/accepted/")]  # nothing left waiting


def test_a_careless_annotator_is_caught_by_gold_and_their_agreement_no_longer_counts() -> None:
    objects, starter = MemoryObjects(), Starter()
    gold = GoldSet(objects)
    for n in range(3):
        gold.add(f"g-{n}", "Berlin welcomes Maria.", _json(AGREED))
    items = [{"id": f"g-{n}", "text": "Berlin welcomes Maria."} for n in range(3)] + ITEMS[1:]
    sloppy = {f"g-{n}": [] for n in range(3)} | {"n-2": AGREED}
    careful = {f"g-{n}": AGREED for n in range(3)} | {"n-2": AGREED}
    result = process_annotation(
        "ent-2", _output("ent-2", items, {"careful": careful, "sloppy": sloppy}), _deps(objects, starter)
    )
    # the two agree on n-2, but the sloppy one scored 0 on 3 gold items: held, n-2 goes to adjudication
    assert (result.gold, result.accepted, result.disputed) == (3, 0, 1)
    [(_, _, content)] = starter.started
    assert content["items"][0]["reason"] == "held"
    assert [v["held"] for v in content["items"][0]["versions"]] == [False, True]
    figures = report([_output("ent-2", items, {"careful": careful, "sloppy": sloppy})], gold=gold)
    assert figures["annotators"]["sloppy"] == {
        "documents": 1,
        "span_f1": 1.0,
        "kappa": 1.0,
        "gold_answers": 3,
        "gold_accuracy": 0.0,
        "held": True,
    }
    assert figures["annotators"]["careful"]["gold_accuracy"] == 1.0 and figures["held"] == 1


def test_a_bad_answer_is_rejected_and_audited_not_fatal() -> None:
    objects, starter = MemoryObjects(), Starter()
    output = _output("ent-3", ITEMS, {"alice": {"n-1": ALICE, "n-2": AGREED}})
    output["humanAnswers"].append(
        {
            "workerId": "mallory",
            "answerContent": {
                "entities": {"n-1": [{"BeginOffset": 0, "EndOffset": 500, "Type": "PERSON"}], "n-2": []}
            },
        }
    )
    result = process_annotation("ent-3", output, _deps(objects, starter))
    assert result.rejected == 1 and result.accepted == 0  # one trusted answer is no agreement
    assert any(
        e["action"] == "rejected" and e["worker"] == "mallory" for e in AuditLog(objects).events("ent-3")
    )


def test_a_batch_waits_for_its_minimum() -> None:
    objects = MemoryObjects()
    assert flush_accepted(objects).reason == "empty"
    process_annotation(
        "ent-4",
        _output("ent-4", ITEMS[1:], {"a": {"n-2": AGREED}, "b": {"n-2": AGREED}}),
        _deps(objects, Starter()),
    )
    result = flush_accepted(objects, min_documents=2)
    assert (result.reason, result.documents) == ("below_minimum", 1)


def test_a_retried_event_changes_nothing_twice() -> None:
    # Given a loop with a gold item, processed once
    objects, starter = MemoryObjects(), Starter()
    GoldSet(objects).add("g-1", "Berlin welcomes Maria.", _json(AGREED))
    items = [*ITEMS, {"id": "g-1", "text": "Berlin welcomes Maria."}]
    output = _output(
        "ent-5",
        items,
        {
            "alice": {"n-1": ALICE, "n-2": AGREED, "g-1": AGREED},
            "bob": {"n-1": BOB, "n-2": AGREED, "g-1": []},
        },
    )
    first = process_annotation("ent-5", output, _deps(objects, starter))
    # When EventBridge delivers the same event again
    again = process_annotation("ent-5", output, _deps(objects, starter))
    # Then the adjudication loop is not started twice (no error either) and gold answers count once
    assert first.adjudication_loop == again.adjudication_loop == "adj-ent-5" and len(starter.started) == 1
    bob = json.loads(objects.data["annotation/annotators/bob.json"])
    assert (bob["gold_answers"], bob["gold_accuracy"], bob["documents"]) == (1, 0.0, 2)
    assert (bob["shared"], bob["agreement_f1"], bob["agreement_kappa"]) == (2, 0.7, round((1 / 7 + 1) / 2, 4))
