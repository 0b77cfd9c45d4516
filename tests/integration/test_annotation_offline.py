"""Annotated entities close the recognizer's loop on the offline stack: the real template, ProcessReview's
handler (as EventBridge calls it), the local A2I runtime, and the lifecycle taking the batch.

Two automatic annotators answer an entity loop (one of them careless on the gold document), the disputed
document is adjudicated, and the accepted documents become an entity batch under ``train/new/`` that the
state machine validates and merges into the recognizer's next dataset version with origin ``review``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from comprehend_al.models import ModelKind
from comprehend_al.store.registry import Registry

from local import entitygen
from local.stack import REGION, REVIEW_FLOW, running

pytestmark = pytest.mark.slow


def _spans(document: entitygen.Document) -> list[dict[str, Any]]:
    return [{"BeginOffset": b, "EndOffset": e, "Type": t} for b, e, t in document.spans]


def test_annotated_documents_reach_the_recognizers_next_dataset(tmp_path: Path) -> None:
    with running(tmp_path / "comprehend", review=True) as env:
        stack = env.stack
        # Given a first recognizer, a gold document, batches of two documents
        documents, annotations = entitygen.to_files(entitygen.generate(80, seed=99))
        stack.put("test/entities/documents.txt", documents)
        stack.put("test/entities/annotations.csv", annotations)
        documents, annotations = entitygen.to_files(entitygen.generate(120, seed=1))
        stack.put("train/new/first/documents.txt", documents)
        assert stack.upload("train/new/first/annotations.csv", annotations)["status"] == "SUCCEEDED"
        ssm = boto3.client("ssm", region_name=REGION)
        ssm.put_parameter(
            Name=f"{stack.parameter_prefix}/annotation-batch-size", Value="3", Type="String", Overwrite=True
        )
        gold, *fresh = entitygen.generate(4, seed=7)
        record = {"id": "g-1", "text": gold.text, "entities": [], "answer": _spans(gold)}
        stack.put("annotation/gold/g-1.json", json.dumps(record).encode())
        items = [{"id": f"d-{n}", "text": d.text, "entities": _spans(d)[:1]} for n, d in enumerate(fresh)]
        items.insert(1, {"id": "g-1", "text": gold.text, "entities": []})
        content = {"kind": "entities", "items": items, "types": list(entitygen.TYPES), "modelVersion": "v1"}
        a2i = boto3.client("sagemaker-a2i-runtime", region_name=REGION, endpoint_url=env.a2i.url)
        a2i.start_human_loop(
            HumanLoopName="ent-1",
            FlowDefinitionArn=REVIEW_FLOW,
            HumanLoopInput={"InputContent": json.dumps(content)},
        )

        # When a careful and a careless annotator answer (the careless one misses the last document's
        # entities and the gold document's), and an adjudicator settles the dispute
        truth = {f"d-{n}": _spans(d) for n, d in enumerate(fresh)} | {"g-1": _spans(gold)}
        env.a2i.complete("ent-1", truth, worker_id="careful")
        env.a2i.complete("ent-1", truth | {"d-2": [], "g-1": []}, worker_id="careless")
        [adjudication] = env.a2i.pending()
        assert adjudication["humanLoopName"] == "adj-ent-1"
        assert [i["id"] for i in adjudication["inputContent"]["items"]] == ["d-2"]
        env.a2i.complete("adj-ent-1", {"d-2": truth["d-2"]}, worker_id="judge")

        # Then the three documents left as one batch, which the lifecycle merged with origin "review"
        executions = stack.deliver_new_uploads()  # as EventBridge delivers the objects ProcessReview wrote
        assert [stack.wait(execution)["status"] for execution in executions] == ["SUCCEEDED"] * len(
            executions
        )
        batches = Registry(stack.outputs["RegistryTableName"]).batches(ModelKind.ENTITY_RECOGNIZER)
        [annotated] = [b for b in batches if "review-entities-" in b.source]
        assert annotated.origin == "review" and annotated.status in ("merged", "accepted", "held"), annotated
        s3 = boto3.client("s3", region_name=REGION)
        listed = s3.list_objects_v2(Bucket=stack.bucket, Prefix="annotation/batches/")["Contents"]
        lineage = json.loads(s3.get_object(Bucket=stack.bucket, Key=listed[0]["Key"])["Body"].read())
        people = {d["item"]: (d["annotators"], d["adjudicator"]) for d in lineage["documents"]}
        assert people == {
            "d-0": (["careful", "careless"], None),
            "d-1": (["careful", "careless"], None),
            "d-2": (["careful", "careless"], "judge"),
        }
        figures = json.loads(
            s3.get_object(Bucket=stack.bucket, Key="annotation/annotators/careless.json")["Body"].read()
        )
        assert figures["gold_answers"] == 1 and figures["gold_accuracy"] == 0.0

        # And a document accepted alone, below the batch size, leaves on the FlushLabels schedule (it would
        # otherwise wait for two more) and reaches the lifecycle as the next entity batch
        [lone] = entitygen.generate(1, seed=8)
        content = {
            "kind": "entities",
            "items": [{"id": "d-9", "text": lone.text, "entities": []}],
            "types": list(entitygen.TYPES),
            "modelVersion": "v1",
        }
        a2i.start_human_loop(
            HumanLoopName="ent-2",
            FlowDefinitionArn=REVIEW_FLOW,
            HumanLoopInput={"InputContent": json.dumps(content)},
        )
        for worker in ("careful", "other"):
            env.a2i.complete("ent-2", {"d-9": _spans(lone)}, worker_id=worker)
        assert stack.deliver_new_uploads() == []  # accepted, waiting below the batch size
        schedule = json.loads(
            (Path(__file__).parents[2] / "events" / "flush_labels" / "scheduled.json").read_text()
        )
        flushed, error = env.router.invoke("FlushLabelsFunction", schedule)
        assert error is None and flushed["annotations"]["documents"] == 1, flushed
        executions = stack.deliver_new_uploads()  # one per file, as EventBridge delivers them
        assert [stack.wait(execution)["status"] for execution in executions] == ["SUCCEEDED"] * len(
            executions
        )
        batches = Registry(stack.outputs["RegistryTableName"]).batches(ModelKind.ENTITY_RECOGNIZER)
        assert len([b for b in batches if "review-entities-" in b.source and b.origin == "review"]) == 2
