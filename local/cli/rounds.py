"""Rounds of uploads through the real workflow, and honest words on what each one did.

After every execution the operator's inbox (the notification topic) says what happened to each model kind:
promoted, rejected, failed, quarantined (with the report's S3 path) or waiting for data (which labels need
how many more documents, or why the test set does not fit). A user's CSV is checked before the stack starts
with the workflow's own rules, so data that can never train a model is refused at once.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import datagen
from local.cli.base import UsageError, say
from local.cli.session import Notice, Session, registry_items, ssm_values


@dataclass
class Round:
    title: str
    status: str  # the execution's: SUCCEEDED, FAILED, ...
    notices: list[Notice] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    """Comprehend's training minimums as the offline stack sets them (MinDocsPerLabel) for a classifier."""

    min_per_label: int
    min_total: int

    @classmethod
    def offline(cls) -> Limits:
        from comprehend_al.settings import Settings

        from local.stack import OFFLINE_PARAMETERS

        return cls(
            int(OFFLINE_PARAMETERS["MinDocsPerLabel"]), int(Settings.model_fields["min_docs_total"].default)
        )


def shortfall(label_counts: dict[str, int], documents: int, limits: Limits) -> str:
    """Which labels need how many more documents, and how many more in all, before a classifier can train:
    "to train, it needs: A +4, B +2; 18 more document(s) in all" ("" when nothing is missing)."""
    labels = [
        f"{label} +{limits.min_per_label - count}"
        for label, count in sorted(label_counts.items())
        if count < limits.min_per_label
    ]
    if len(label_counts) < 2:
        labels.append(f"{2 - len(label_counts)} more label(s)")
    total = f"{limits.min_total - documents} more document(s) in all" if documents < limits.min_total else ""
    parts = [", ".join(labels), total]
    return "to train, it needs: " + "; ".join(p for p in parts if p) if any(parts) else ""


# --- reading a user's CSV -------------------------------------------------------------------------------
Ticket = datagen.Ticket


class Unusable(Exception):
    """The data can never produce a model (exit 3): the reasons, by the workflow's own rules."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def read_csv(path: Path) -> list[Ticket]:
    """A user's ``LABEL,text`` CSV, validated as the workflow validates an upload (which would quarantine
    a file that fails: :class:`Unusable` with its problems)."""
    from comprehend_al.datasets.classification import parse_upload
    from comprehend_al.errors import InvalidTrainingData

    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        rows = parse_upload(path.read_bytes(), file=str(path), multi_label=False)
    except InvalidTrainingData as error:
        raise Unusable(
            [f"{path} is not a LABEL,text training CSV (the workflow would quarantine it):"]
            + [str(p) for p in error.problems[:10]]
        ) from error
    return [Ticket(r.labels[0], r.text) for r in rows]


def split(rows: list[Ticket]) -> tuple[list[Ticket], list[Ticket]]:
    """(training rows, a fixed test set of 20%)."""
    rows = list(rows)
    random.Random(0).shuffle(rows)
    cut = max(1, len(rows) // 5)
    return rows[cut:], rows[:cut]


def preflight(source: str, train: list[Ticket], test: list[Ticket], limits: Limits) -> list[str]:
    """Why this data can never produce a model, by the workflow's own rules ([] when it can)."""
    from comprehend_al.datasets.classification import check_test_set, check_trainable

    counts = Counter(t.label for t in train)
    reasons = check_trainable(
        counts, multi_label=False, min_per_label=limits.min_per_label, min_total=limits.min_total
    )
    needs = shortfall(dict(counts), len(train), limits)
    reasons += [needs] if reasons and needs else []
    reasons += [str(p) for p in check_test_set(set(counts), set(t.label for t in test))]
    every = train + test
    if every and every[0].label.lower() in {"label", "labels", "class", "category", "intent"}:
        reasons.append(
            f"{source} seems to start with a header ({every[0].label},{every[0].text[:20]}): the training "
            "CSV has no header (LABEL,text on every line)"
        )
    return reasons


# --- a round ------------------------------------------------------------------------------------------------
def run_round(s: Session, title: str, key: str, body: bytes, *, what: str = "") -> Round:
    """Upload ``body`` to ``key``, run the execution the upload starts, and say what it did."""
    rows = body.count(b"\n")
    what = what or f"{rows} rows"
    say(f"{title}: {what} → s3://{s.env.stack.bucket}/{key}")
    started = time.monotonic()
    with s.steps(title) as steps:
        result = s.env.stack.upload(key, body)
    return report(s, title, result, steps.line(), time.monotonic() - started)


def report(s: Session, title: str, result: dict[str, Any], trail: str, seconds: float) -> Round:
    say(f"  {trail}")
    say(f"  execution {result['status']} in {seconds:.1f} s")
    if result["status"] != "SUCCEEDED":
        say(f"  error: {result.get('error', '?')}: {str(result.get('cause', ''))[:500]}")
    done = Round(title, result["status"], s.inbox.drain())
    for line in explain(s, done.notices):
        say(f"  {line}")
    return done


def explain(s: Session, notices: list[Notice]) -> list[str]:
    if not notices:
        return ["nothing trained, nothing to report: no upload was pending (or another run held the lock)"]
    lines: list[str] = []
    for notice in notices:
        m, kind = notice.message, notice.message.get("kind", "")
        if notice.outcome == "waiting":
            lines.append(
                f"{kind}: data merged into dataset {m.get('dataset')}, NOT trained: waiting for data"
            )
            lines += [f"  - {reason}" for reason in m.get("reasons", [])]
            lines += [f"  - waits: {note}" for note in m.get("waiting", [])]
            lines += [f"  - {need}" for need in _needs(s, kind, m)]
        elif notice.outcome == "quarantined":
            lines.append(f"{kind}: upload quarantined, nothing trained; report: {m.get('report')}")
            lines += [f"  - {problem}" for problem in m.get("problems", [])[:5]]
        elif notice.outcome in {"promoted", "rejected", "failed"}:
            version = m.get("version") or notice.subject.split(":")[0]
            lines.append(f"{kind} {version}: {notice.outcome}: {m.get('reason', '')}")
        elif notice.outcome == "preparation_failed":
            lines.append(f"uploads not prepared: {m.get('reason', '')}")
        else:
            lines.append(f"{notice.subject}")
    return lines


def _needs(s: Session, kind: str, message: dict[str, Any]) -> list[str]:
    if kind != "classifier" or not message.get("dataset"):
        return []
    from comprehend_al.models import ModelKind
    from comprehend_al.settings import Settings
    from comprehend_al.store.registry import Registry

    record = Registry(s.env.stack.outputs["RegistryTableName"]).dataset(
        ModelKind.CLASSIFIER, message["dataset"]
    )
    if record is None:
        return []
    settings = Settings.from_env(s.env.router.resolve("PrepareTrainingDataFunction").environment)
    if settings.multi_label:
        return []
    limits = Limits(settings.min_docs_per_label, settings.min_docs_total)
    needs = shortfall(record.dataset.label_counts, record.dataset.documents, limits)
    return [needs] if needs else []


# --- the end of a run --------------------------------------------------------------------------------------
def show(s: Session, report_dir: Path | None) -> list[dict[str, Any]]:
    from local.dashboard import collect, write_snapshot
    from local.report import model_rows, table, write_report

    items = registry_items(s.env)
    rows = model_rows(items["models"], items["datasets"])
    say("\n" + table(rows))
    ssm = ssm_values(s.env)
    say("\nSSM Parameter Store:")
    for name, value in ssm.items():
        say(f"  {name} = {value}")
    if report_dir:
        page = write_report(report_dir, rows, ssm, {"datasets": items["datasets"]})
        board = write_snapshot(report_dir / "dashboard", collect(s.env))
        say(f"\nReport: {page}\nDashboard (static snapshot): {board}")
    return rows


def no_model_reasons(rounds: list[Round]) -> list[str]:
    """Why no classifier was trained in these rounds (the last thing the workflow said for each round)."""
    lines = []
    for r in rounds:
        said = [n for n in r.notices if n.message.get("kind") in (None, "classifier")]
        what = ", ".join(n.outcome for n in said) or (
            "nothing pending" if r.status == "SUCCEEDED" else r.status
        )
        lines.append(f"{r.title}: {what}")
    return lines
