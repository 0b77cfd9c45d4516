"""Classifier dataset versions stored as parts: a merge reads and writes what changed, and the training
prefix always holds exactly the rows a whole rewrite would (duplicates dropped, the newer label wins)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
from comprehend_al.datasets.classification import Row, to_csv
from comprehend_al.kinds import Merged
from comprehend_al.lifecycle import parts
from comprehend_al.lifecycle.lineage import compose
from comprehend_al.models import BatchStatus, DatasetRef, ModelKind

from local import datagen

if TYPE_CHECKING:
    from tests.integration.conftest import Stack

FUNCTION = "prepare_training_data"
CLF = ModelKind.CLASSIFIER
MACHINE = "arn:aws:states:us-east-1:123456789012:execution:comprehend-al-model-lifecycle"


def rows(n: int, seed: int) -> list[tuple[str, str]]:
    return [(t.label, t.text) for t in datagen.generate(n, seed=seed)]


def by_text(items: list[tuple[str, str]]) -> dict[str, str]:
    return {text: label for label, text in items}


def as_csv(items: list[tuple[str, str]]) -> bytes:
    return to_csv(Row((label,), text) for label, text in items)


def merge(stack: Stack, name: str, items: list[tuple[str, str]]) -> dict[str, Any]:
    """Upload ``items`` as ``train/new/<name>`` and run PrepareTrainingData on it (then release the lock)."""
    stack.put(f"train/new/{name}", as_csv(items))
    execution = f"{MACHINE}:{name}"
    result = stack.invoke(FUNCTION, {"execution_id": execution, "event": {}})
    stack.deps.registry.release_lock(CLF, execution)
    return dict(result["outcomes"][0])


def trained(stack: Stack) -> dict[str, str]:
    """text → label of what Comprehend would train on now (every object under the training prefix)."""
    current = stack.deps.registry.current_dataset(CLF)
    assert current is not None
    body = stack.training_data(current.train_uri).decode()
    found: dict[str, str] = {}
    for label, text in csv.reader(io.StringIO(body)):
        assert text not in found, f"{text!r} twice in the training data"
        found[text] = label
    return found


@pytest.fixture
def ready(stack: Stack) -> Stack:
    stack.put_test_set(datagen.generate(20, seed=99))
    return stack


def test_a_merge_reads_the_new_upload_not_the_earlier_batches(ready: Stack, monkeypatch: Any) -> None:
    """Given a version holding one batch, when a second upload is merged, then the first batch's data file
    is not read (its training file is copied inside S3) and training gets both uploads' rows."""
    first, second = rows(60, seed=1), rows(60, seed=2)
    merge(ready, "first.csv", first)
    reads: list[str] = []
    get = ready.deps.bucket.get
    monkeypatch.setattr(ready.deps.bucket, "get", lambda key, **kw: reads.append(key) or get(key, **kw))

    outcome = merge(ready, "second.csv", second)

    assert outcome["status"] == "training" and outcome["added"] == 60
    batch_files = {key for key in reads if "/batches/" in key}
    assert len(batch_files) == 1  # the new batch only
    assert trained(ready) == by_text(first) | by_text(second)


def test_a_newer_label_replaces_the_row_of_an_earlier_part(ready: Stack) -> None:
    """Given a version holding a text under one label, when an upload labels it differently and repeats
    another text unchanged, then training gets the text once under the new label, the duplicate once, and
    the merge reports the conflict with both label sets."""
    first = rows(60, seed=1)
    merge(ready, "first.csv", first)
    (old_label, text), (same_label, same_text) = first[0], first[1]
    new_label = next(label for label, _ in first if label != old_label)

    outcome = merge(ready, "fix.csv", [(new_label, text), (same_label, same_text), *rows(10, seed=3)])

    data = trained(ready)
    assert data[text] == new_label and data[same_text] == same_label
    assert len(data) == 70
    assert (outcome["added"], outcome["duplicates_dropped"]) == (10, 1)
    (conflict,) = outcome["conflicts"]
    assert (conflict["old_labels"], conflict["new_labels"]) == ([old_label], [new_label])


def test_a_waiting_label_joins_training_once_it_has_enough_documents(ready: Stack) -> None:
    """Given a label with fewer documents than the minimum (it waits), when a later upload brings it over
    the minimum, then its earlier documents train too."""
    ready.put_test_set([*datagen.generate(20, seed=99), datagen.Ticket("Refunds", "refund test document")])
    early = [("Refunds", f"please refund order {i}") for i in range(4)]
    outcome = merge(ready, "first.csv", rows(60, seed=1) + early)
    assert "Refunds" not in trained(ready).values() and any("Refunds" in n for n in outcome["waiting"])

    merge(ready, "more.csv", [("Refunds", f"refund request number {i}") for i in range(8)])

    refunds = [text for text, label in trained(ready).items() if label == "Refunds"]
    assert len(refunds) == 12 and {text for _, text in early} <= set(refunds)


def test_a_dataset_stored_as_one_file_is_read_as_one_part(ready: Stack) -> None:
    """Given a current version written before batches existed (one train.csv, no batches), when an upload
    is merged, then training gets the old rows and the new ones."""
    old = rows(60, seed=1)
    ready.put("datasets/classifier/d-legacy/train.csv", as_csv(old))
    legacy = DatasetRef(
        kind=CLF,
        version="d-legacy",
        train_uri=ready.uri("datasets/classifier/d-legacy/train.csv"),
        test_uri=ready.uri(ready.test_key),
        test_version="t0",
        documents=60,
    )
    ready.deps.registry.put_dataset(legacy, uploads=[], parent=None, execution_id="before")

    merge(ready, "new.csv", rows(30, seed=2))

    assert trained(ready) == by_text(old) | by_text(rows(30, seed=2))
    current = ready.deps.registry.current_record(CLF)
    assert current is not None and current.base == "d-legacy"


def test_dropping_a_batch_brings_back_the_rows_it_had_replaced(ready: Stack) -> None:
    """Given a batch that relabelled a text of an earlier one, when it is dropped and the version is
    composed without it, then training gets the earlier label again."""
    first = rows(60, seed=1)
    merge(ready, "first.csv", first)
    label, text = first[0]
    other = next(lab for lab, _ in first if lab != label)
    merge(ready, "relabel.csv", [(other, text)])
    relabel = next(b for b in ready.deps.registry.batches(CLF) if b.source.endswith("relabel.csv"))
    ready.deps.registry.set_batch_status(CLF, relabel, BatchStatus.DROPPED, "test")

    composition = compose(CLF, ready.deps, version="d-drop", execution_id="drop", reason="drop")

    assert composition is not None and trained(ready)[text] == label
    manifest = json.loads(ready.get(ready.key(str(composition.record.lineage_uri))))
    assert relabel.batch_id not in {part["batch"] for part in manifest["parts"]}


def test_training_data_over_comprehends_5_gb_does_not_train(ready: Stack) -> None:
    """Given a composed version whose training files add up to more than Comprehend's 5 GB, when its
    trainability is checked, then the size is a reason not to train."""
    merge(ready, "first.csv", rows(60, seed=1))
    current = ready.deps.registry.current_dataset(CLF)
    assert current is not None
    data = ready.deps.data(CLF)
    fits = Merged(None, current.documents, current.label_counts, 0, 0, [], size_bytes=5 * 1024**3)
    too_big = replace(fits, size_bytes=5 * 1024**3 + 1)

    assert data.trainable(fits) == []
    assert any("Comprehend accepts at most 5368709120" in r for r in data.trainable(too_big))


def test_a_newer_label_rewrites_only_the_part_that_held_the_row(ready: Stack, monkeypatch: Any) -> None:
    """Given an upload stored as three parts of 20 rows, when a later upload relabels one of its texts, then
    one earlier training file is rewritten (the others are copied) and the text trains once, relabelled."""
    monkeypatch.setattr(parts, "PART_ROWS", 20)
    first = rows(60, seed=1)
    merge(ready, "first.csv", first)
    label, text = first[30]
    other = next(lab for lab, _ in first if lab != label)
    written: list[str] = []
    put = ready.deps.bucket.put
    monkeypatch.setattr(
        ready.deps.bucket, "put", lambda key, body, **kw: written.append(key) or put(key, body, **kw)
    )

    merge(ready, "relabel.csv", [(other, text)])

    views = [key for key in written if "/train/part-" in key]
    assert len(views) == 2  # the part that held the text, and the new upload's
    data = trained(ready)
    assert data[text] == other and len(data) == 60


def test_a_version_written_before_parts_is_composed_anew_from_its_batches(ready: Stack) -> None:
    """Given a current version that lists its batches but has no manifest (written before this layout),
    when an upload is merged, then the version is composed from every batch: training gets all rows."""
    first, second = rows(60, seed=1), rows(30, seed=2)
    merge(ready, "first.csv", first)
    record = ready.deps.registry.current_record(CLF)
    assert record is not None and record.index_uri
    old = record.dataset.model_copy(update={"version": "d-before-parts"})
    lineage = {"batches": record.batches, "base": None, "lineage_uri": None, "index_uri": None}
    ready.deps.registry.put_dataset(old, uploads=[], parent=record.version, execution_id="x", lineage=lineage)

    merge(ready, "second.csv", second)

    assert trained(ready) == by_text(first) | by_text(second)
