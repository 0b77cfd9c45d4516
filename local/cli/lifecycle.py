"""``demo`` and ``run``: uploads in rounds through the real model lifecycle on the offline stack."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from local import datagen, entitygen
from local.cli.base import PROG, ROOT, Arg, ExitCode, command, say
from local.cli.rounds import (
    Limits,
    Round,
    Unusable,
    no_model_reasons,
    preflight,
    read_csv,
    run_round,
    show,
    split,
)
from local.cli.session import STATE_DIR, Session, session

DEFAULT_REPORT = ROOT / "reports" / "demo"


def load(train_csv: Path, test_csv: Path | None = None) -> tuple[list[datagen.Ticket], list[datagen.Ticket]]:
    """(training rows, fixed test set) of a user's CSV(s): 20% of ``train_csv`` held out without ``test_csv``.
    Raises :class:`Unusable` when the data can never produce a model, by the workflow's own rules."""
    train, test = split(read_csv(train_csv))
    if test_csv:
        train, test = train + test, read_csv(test_csv)  # nothing of the training CSV is held out
    reasons = preflight(str(train_csv), train, test, Limits.offline())
    if reasons:
        counts = f"{len(train)} for training, {len(test)} in the fixed test set"
        raise Unusable([f"{train_csv}: {len(train) + len(test)} row(s) ({counts})", *reasons])
    return train, test


def refuse(error: Unusable) -> int:
    say("This data cannot produce a model; nothing was started:")
    for reason in error.reasons:
        say(f"  - {reason}")
    return ExitCode.NO_MODEL


def no_model(s: Session, source: str, rounds: list[Round]) -> bool:
    """True (after saying why) when no classifier serves at the end of these rounds."""
    from comprehend_al.models import ModelKind

    if s.env.stack.active(ModelKind.CLASSIFIER).model_arn:
        return False
    say(f"\nNo classifier was trained from {source}. What the workflow said, round by round:")
    for line in no_model_reasons(rounds):
        say(f"  - {line}")
    return True


@command(
    "demo",
    "four rounds: first model, promoted challenger, rejected harmful batch, first entity recognizer",
    Arg(
        "--data",
        type=Path,
        help="your own LABEL,text CSV instead of generated tickets (20%% held out as the fixed test set)",
    ),
    STATE_DIR,
    Arg(
        "--report", type=Path, default=DEFAULT_REPORT, help="folder of the HTML report (default: %(default)s)"
    ),
    order=10,
)
def demo(args: argparse.Namespace) -> int:
    """The model lifecycle end to end, in four rounds (about 20 s on 2 cores):

    1. a first classifier (no champion yet: deployed without selection);
    2. more labelled rows: a challenger evaluated with the champion on the same fixed test set, promoted;
    3. a harmful batch (labels shifted): the challenger is worse and rejected;
    4. an entity-annotation folder: the first custom entity recognizer through the same lifecycle.

    With --data, rounds 1-3 use your CSV (round 1: a fifth of the training rows, round 2: the rest, round 3:
    the rest with labels shifted); it exits 3, saying why, when the data cannot produce a classifier."""
    started = time.monotonic()
    if args.data:
        try:
            train, test = load(args.data)
        except Unusable as error:
            return refuse(error)
        first, second = train[: len(train) // 5], train[len(train) // 5 :]
        harmful = datagen.mislabel(second, seed=3)
        source = str(args.data)
    else:
        test = datagen.generate(200, seed=99)
        first, second = datagen.generate(75, seed=1), datagen.generate(400, seed=2, noise=0.03)
        harmful = datagen.mislabel(datagen.generate(600, seed=3))
        source = "generated support tickets (local/datagen.py), 5 labels"
    say(f"Offline demo on {source}: the real template, state machine and handlers, against moto and a")
    say("local Comprehend-compatible service that really trains models.\n")
    with session(args.state_dir, command="demo") as s:
        say(f"Stack deployed into moto; local Comprehend at {s.env.comprehend.url}")
        s.env.stack.put("test/classifier/test.csv", datagen.to_csv(test))
        say(f"Fixed test set: {len(test)} rows → s3://{s.env.stack.bucket}/test/classifier/test.csv\n")
        rounds = [run_round(s, "Round 1, the first model", "train/new/round-1.csv", datagen.to_csv(first))]
        poisoned = time.monotonic()
        rounds.append(
            run_round(
                s,
                "Round 2, a harmful batch (labels shifted)",
                "train/new/round-2.csv",
                datagen.to_csv(harmful),
            )
        )
        held = show_held(s)
        rounds.append(
            run_round(s, "Round 3, clean labelled data", "train/new/round-3.csv", datagen.to_csv(second))
        )
        recovered = time.monotonic() - poisoned
        rounds.append(entity_round(s))
        rows = show(s, args.report)
        missing = no_model(s, source, rounds[:3]) if args.data else False
    decisions = {
        k: [r["decision"] for r in rows if r["kind"] == k] for k in ("classifier", "entity_recognizer")
    }
    say(
        f"\nDone in {time.monotonic() - started:.1f} s: classifier {decisions['classifier']}, "
        f"entity recognizer {decisions['entity_recognizer']}"
        + (
            f"; the harmful batch held before training, and {recovered:.1f} s from its upload to a better "
            "model in service (no training paid for it)."
            if held
            else "."
        )
    )
    if missing:
        return ExitCode.NO_MODEL
    if any(r.status != "SUCCEEDED" for r in rounds):
        return ExitCode.FAILED
    expected = {"classifier": ["promote", "promote"], "entity_recognizer": ["promote"]}
    return ExitCode.OK if args.data or (decisions == expected and held) else ExitCode.FAILED


def show_held(s: Session) -> bool:
    """What the guard held in the last round, with its report (False: nothing was held)."""
    import boto3
    from comprehend_al.models import ModelKind
    from comprehend_al.store.registry import Registry

    env = s.env
    found = Registry(env.stack.outputs["RegistryTableName"]).batches(ModelKind.CLASSIFIER)
    held = [b for b in found if b.status == "held"]
    for batch in held:
        figures = batch.guard or {}
        say(f"  HELD before training (no training started): batch {batch.batch_id} from {batch.source}")
        say(
            f"    agreement with the champion {figures.get('agreed')}/{figures.get('units')} = "
            f"{figures.get('agreement')}, where its test score predicts {figures.get('expected')} "
            f"(one-sided binomial p = {float(figures.get('p_value') or 0):.2g})"
        )
        moves = figures.get("moves") or {}
        pairs = sorted(((n, a, b) for a, row in moves.items() for b, n in row.items()), reverse=True)
        say("    labels moved: " + ", ".join(f"{a} → {b} {n}" for n, a, b in pairs[:5]))
        bucket, _, key = str(batch.report_uri).removeprefix("s3://").partition("/")
        body = boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read()
        report = json.loads(body)
        rows = [
            f"line {r['line']}: {r['given']} → {r['champion']} ({r['score']:.2f})"
            for r in report["suspicious"][:3]
        ]
        say("    most suspicious rows: " + "; ".join(rows))
        say(f"    report: {batch.report_uri}")
        say(f"    readmit or drop it: {PROG} readmit|drop {batch.batch_id} (on a running serve)")
    return bool(held)


def entity_round(s: Session) -> Round:
    """A custom entity recognizer (TICKER, COMPANY, PERSON) through the same lifecycle."""
    test_documents, test_annotations = entitygen.to_files(entitygen.generate(80, seed=99))
    s.env.stack.put("test/entities/documents.txt", test_documents)
    s.env.stack.put("test/entities/annotations.csv", test_annotations)
    documents, annotations = entitygen.to_files(entitygen.generate(120, seed=1))
    say("")
    s.env.stack.upload("train/new/news-1/documents.txt", documents)  # incomplete: the folder stays pending
    s.inbox.drain()
    return run_round(
        s,
        "Round 4, entity annotations (TICKER, COMPANY, PERSON)",
        "train/new/news-1/annotations.csv",
        annotations,
        what="documents.txt (already uploaded: alone, it leaves the folder pending) + annotations.csv",
    )


@command(
    "run",
    "your CSV through the workflow in rounds: a fixed test set, then the training data in parts",
    Arg("--train", type=Path, required=True, help="LABEL,text CSV (no header)"),
    Arg("--test", type=Path, help="fixed test set (default: 20%% of --train held out)"),
    Arg(
        "--rounds", type=int, default=3, help="uploads the training data is split into (default: %(default)s)"
    ),
    STATE_DIR,
    Arg("--report", type=Path, help="also write the HTML report to this folder"),
    order=20,
)
def run(args: argparse.Namespace) -> int:
    """Your own data through the real workflow: the fixed test set first, then --train in --rounds uploads.
    Exits 3, saying why, when the data cannot produce a classifier."""
    if args.rounds < 1:
        say("--rounds must be at least 1")
        return ExitCode.USAGE
    try:
        rows, test = load(args.train, args.test)
    except Unusable as error:
        return refuse(error)
    size = max(1, len(rows) // args.rounds)
    with session(args.state_dir, command="run") as s:
        s.env.stack.put("test/classifier/test.csv", datagen.to_csv(test))
        rounds = []
        for i in range(args.rounds):
            batch = rows[i * size : (i + 1) * size] if i < args.rounds - 1 else rows[i * size :]
            rounds.append(
                run_round(s, f"Round {i + 1}", f"train/new/round-{i + 1}.csv", datagen.to_csv(batch))
            )
        show(s, args.report)
        missing = no_model(s, str(args.train), rounds)
    if missing:
        return ExitCode.NO_MODEL
    return ExitCode.OK if all(r.status == "SUCCEEDED" for r in rounds) else ExitCode.FAILED
