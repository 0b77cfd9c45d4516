"""Issue 8: concurrent uploads, overwrites of one key, uploads arriving in every round.

One scenario on the offline stack, its data bucket versioned as the template says (moto's CloudFormation
drops ``VersioningConfiguration``: the scenario turns versioning on itself):

* a burst of 10 uploads: 6 keys of their own and 4 overwrites of one shared key, all written before
  EventBridge delivers their events (delivery lags on AWS), so 10 executions start at once;
* each time a run starts training (round 0, 1, 2 of the execution holding the lock), two more uploads
  arrive: a new key and another overwrite of the shared key, each delivering its own event;
* then every execution ends and the reconciler runs (once the template has one).

Every row of every upload carries a unique tag, so an object *version* can be followed by its rows: each
version's rows must be in the current dataset version (the lineage is cumulative) exactly once, or the
version quarantined with a report.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from local import datagen
from local.stack import REGION, Offline, running
from tests.integration import lifecycle_faults as lf

SHARED = "train/new/shared.csv"
ROWS_PER_UPLOAD = 40
ROUNDS_WITH_UPLOADS = 3  # the state machine runs at most three rounds per execution


def body(tag: str, seed: int) -> bytes:
    """An upload whose every row is unique to it: the text ends with the upload's tag."""
    tickets = datagen.generate(ROWS_PER_UPLOAD, seed=seed)
    return datagen.to_csv(
        [datagen.Ticket(t.label, f"{t.text} (ref {tag}-{i})") for i, t in enumerate(tickets)]
    )


@dataclass
class Version:
    key: str
    version_id: str
    latest: bool  # the key's current version (or its last one, once moved away)
    rows: list[lf.Row]


@dataclass
class Outcome:
    versions: list[Version]
    dataset: list[lf.Row]
    duplicates_dropped: int
    pending: list[str]
    quarantined: dict[str, bool]
    executions: int


WRITTEN: dict[int, list[tuple[str, str, bytes]]] = {}  # id(stack) → (key, version id, body), in order


def record_uploads(env: Offline) -> None:
    """Keep every version written under train/new/ as it is written (a merged version leaves the prefix:
    Prepare removes exactly that version, so S3 cannot list it there afterwards)."""
    written = WRITTEN.setdefault(id(env.stack), [])
    put = env.stack.put

    def recording_put(key: str, body: bytes) -> dict[str, Any]:
        response = put(key, body)
        if key.startswith("train/new/"):
            written.append((key, str(response.get("VersionId", "")), body))
        return response

    env.stack.put = recording_put  # type: ignore[method-assign]


def uploaded_versions(env: Offline) -> list[Version]:
    """Every version written under train/new/, the newest of each key marked ``latest``."""
    written = WRITTEN.get(id(env.stack), [])
    last = {key: index for index, (key, _, _) in enumerate(written)}
    return [
        Version(key, version_id, last[key] == index, lf.csv_rows(body))
        for index, (key, version_id, body) in enumerate(written)
    ]


def play(env: Offline) -> Outcome:
    # template.yaml versions the data bucket; moto's CloudFormation drops VersioningConfiguration
    boto3.client("s3", region_name=REGION).put_bucket_versioning(
        Bucket=env.stack.bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    record_uploads(env)
    env.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(150, seed=99)))
    uploads = [(f"train/new/burst-{i}.csv", body(f"burst-{i}", seed=i)) for i in range(6)]
    uploads += [(SHARED, body(f"shared-{i}", seed=10 + i)) for i in range(4)]
    uploads.sort(key=lambda upload: upload[1])  # the overwrites land between the other uploads
    rounds = iter(range(ROUNDS_WITH_UPLOADS))
    lock = threading.Lock()

    def upload_during_training(function: str, _: Any) -> None:
        if function != "StartModelBuildingFunction":
            return
        with lock:
            round_ = next(rounds, None)
        if round_ is not None:
            env.stack.upload(
                f"train/new/round-{round_}.csv", body(f"round-{round_}", 20 + round_), wait=False
            )
            env.stack.upload(SHARED, body(f"shared-round-{round_}", 30 + round_), wait=False)

    env.router.before_invoke.append(upload_during_training)
    written = [(key, data, env.stack.put(key, data)) for key, data in uploads]
    for key, data, response in written:  # EventBridge delivers the events once all are written
        env.stack.start_execution(env.stack.object_created_event(key, len(data), response))
    lf.wait_for_executions(env, timeout=600)
    lf.run_reconciler(env)
    lineage = lf.registry(env).datasets(lf.CLF)
    versions = uploaded_versions(env)
    return Outcome(
        versions=versions,
        dataset=lf.dataset_rows(env),
        duplicates_dropped=sum(record.dataset.duplicates_dropped for record in lineage),
        pending=lf.s3_keys(env, "train/new/"),
        quarantined={v.key: lf.quarantined_with_report(env, v.key) for v in versions},
        executions=len(
            boto3.client("stepfunctions", region_name=REGION).list_executions(
                stateMachineArn=env.stack.state_machine_arn
            )["executions"]
        ),
    )


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    with running(tmp_path_factory.mktemp("concurrent") / "comprehend") as env:
        yield play(env)


def test_the_scenario_is_what_it_claims(outcome: Outcome) -> None:
    """Given the scenario, then 16 versions were written, 8 of the shared key, each with its own event."""
    keys = Counter(v.key for v in outcome.versions)

    assert len(outcome.versions) == 10 + 2 * ROUNDS_WITH_UPLOADS
    assert keys[SHARED] == 4 + ROUNDS_WITH_UPLOADS
    assert outcome.executions >= len(outcome.versions)


def lost(outcome: Outcome, *, latest: bool) -> list[str]:
    """Versions whose rows are not all in the current dataset (nor quarantined): the latest version of
    each key (``latest=True``) or the versions a later upload of the same key overwrote."""
    present = set(outcome.dataset)
    return [
        f"{v.key}@{v.version_id}: {sum(r not in present for r in v.rows)} of {len(v.rows)} rows"
        for v in outcome.versions
        if v.latest == latest and any(r not in present for r in v.rows) and not outcome.quarantined[v.key]
    ]


def test_no_overwritten_version_is_lost(outcome: Outcome) -> None:
    """Given four overwrites of one key in the burst and one in every round, when every execution has
    ended, then the rows of every overwritten version are in the current dataset version."""
    assert lost(outcome, latest=False) == []


def test_no_upload_is_left_pending_once_every_execution_has_ended(outcome: Outcome) -> None:
    """Given uploads arriving during every round, when every execution has ended (and the reconciler
    ran), then nothing is left under train/new/ and the latest version of every key is merged."""
    assert (outcome.pending, lost(outcome, latest=True)) == ([], [])


def test_no_object_version_is_merged_twice(outcome: Outcome) -> None:
    """Given concurrent uploads and overwrites, then no row is in the dataset twice and no merge in the
    lineage met a row it already had (every row is unique to its version)."""
    twice = [row for row, n in Counter(outcome.dataset).items() if n > 1]

    assert twice == []
    assert outcome.duplicates_dropped == 0
