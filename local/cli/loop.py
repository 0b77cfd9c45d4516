"""``loop``: the active-learning loop end to end on the offline stack."""

from __future__ import annotations

import argparse
import itertools
import json
import time
from typing import Any

from local import datagen
from local.cli.base import ROOT, Arg, ExitCode, command, say
from local.cli.rounds import report, run_round, show
from local.cli.session import STATE_DIR, Session, bar, session


def api(s: Session, function: str, sample: str, body: dict[str, Any]) -> dict[str, Any]:
    """Call an HTTP API function the way API Gateway does (the sample event of events/ with this body)."""
    event = json.loads((ROOT / "events" / sample).read_text())
    event["body"] = json.dumps(body)
    result, error = s.env.router.invoke(function, event)
    if error:
        raise RuntimeError(f"{function}: {result}")
    return dict(json.loads(result["body"]))


def active_metric(s: Session, metric: str = "F1Score") -> tuple[str, float | None]:
    """(version, metric on the fixed test set) of the active classifier."""
    from comprehend_al.models import ModelKind
    from comprehend_al.store.registry import Registry

    version = s.env.stack.active(ModelKind.CLASSIFIER).version
    if not version:
        return "-", None
    model = Registry(s.env.stack.outputs["RegistryTableName"]).model(ModelKind.CLASSIFIER, version)
    if model is None:
        return version, None
    scores = model.evaluations.get(str(model.test_version), {})  # the fixed test set of its own run
    value = scores.get(metric)
    return version, float(value) if value is not None else None


def _f1(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


@command(
    "loop",
    "active learning: classify (or, --kind entities, analyze) a stream, review the uncertain (A2I), retrain",
    Arg(
        "--rounds",
        type=int,
        default=4,
        help="rounds of streaming, review and retraining (default: %(default)s)",
    ),
    Arg(
        "--stream",
        type=int,
        default=150,
        help="unlabelled tickets classified per round (default: %(default)s)",
    ),
    Arg(
        "--kind",
        choices=("classifier", "entities"),
        default="classifier",
        help="which model's loop: the classifier (/classify) or the entity recognizer (/analyze)",
    ),
    Arg(
        "--threshold",
        type=float,
        default=None,
        help="classifier: review when top1 - top2 is below this (default: 0.3); entities: when the "
        "document's confidence is below this (default: 0.95)",
    ),
    Arg(
        "--strategy",
        default="any_error",
        help="entities: least_confidence | any_error (default: %(default)s)",
    ),
    Arg(
        "--budget",
        type=int,
        default=10,
        help="entities: review loops per day; a round is a day (default: %(default)s)",
    ),
    Arg("--gold", type=int, default=8, help="entities: gold documents per round (default: %(default)s)"),
    Arg(
        "--gold-threshold",
        type=float,
        default=0.85,
        help="entities: span F1 on the gold documents below which work is held (default: %(default)s)",
    ),
    Arg(
        "--seed-size",
        type=int,
        default=45,
        help="entities: documents of the first batch (default: %(default)s)",
    ),
    Arg("--batch", type=int, default=20, help="reviewed labels per training upload (default: %(default)s)"),
    STATE_DIR,
    Arg(
        "--report",
        type=str,
        default=str(ROOT / "reports" / "loop"),
        help="report folder (default: %(default)s)",
    ),
    order=15,
)
def loop(args: argparse.Namespace) -> int:
    """Active learning end to end: a small seed model, a stream of unlabelled tickets through /classify,
    uncertain ones reviewed (an automatic reviewer that knows the true labels answers the A2I queue),
    reviewed labels batched into uploads that retrain the model. Exits 1 when the metric rose in fewer than
    three rounds (or in fewer than --rounds, when that is smaller)."""
    from pathlib import Path

    if args.kind == "entities":
        from local.cli.loop_entities import entity_loop

        if args.threshold is None:
            args.threshold = 0.95
        return entity_loop(args)
    if args.threshold is None:
        args.threshold = 0.3
    started = time.monotonic()
    blur = 0.6  # tickets that often mention a second topic: the seed model is unsure of many
    test = datagen.generate(300, seed=99, blur=blur)
    seed = datagen.generate(50, seed=1, blur=blur)
    parameters = {
        "ReviewStrategy": "margin_clusters",  # the deployed default; the budget here takes every queued one
        "ReviewThreshold": str(args.threshold),
        "ReviewDailyBudget": "10000",
        "RetrainBatchSize": str(args.batch),
    }
    say("Active-learning loop on the offline stack: /classify → the day's review selection (A2I) →")
    say(
        f"labelled uploads → retraining. Review: margin < {args.threshold}; batches of {args.batch} labels.\n"
    )
    history: list[dict[str, Any]] = []
    with session(args.state_dir, parameters, review=True, command="loop") as s:
        s.env.stack.put("test/classifier/test.csv", datagen.to_csv(test))
        run_round(s, "Seed model", "train/new/seed.csv", datagen.to_csv(seed))
        version, value = active_metric(s)
        history.append(
            {"round": 0, "streamed": 0, "reviewed": 0, "labels": len(seed), "version": version, "f1": value}
        )
        labels = len(seed)
        for number in range(1, args.rounds + 1):
            stream = datagen.generate(args.stream, seed=1000 + number, blur=blur)
            truth = {t.text: t.label for t in stream}
            queued = 0
            for ticket in bar(stream, f"Round {number}: /classify", unit="ticket"):
                answer = api(s, "ClassifyFunction", "classify/text.json", {"text": ticket.text})
                queued += answer["review"]["reason"] == "queued"
            select = json.loads((ROOT / "events" / "select_review" / "scheduled.json").read_text())
            selection, _ = s.env.router.invoke("SelectReviewFunction", select)  # the day's review selection
            selected = len(selection["started"]) if isinstance(selection, dict) else 0
            reviewed = 0
            for human_loop in s.env.a2i.pending():  # the automatic reviewer
                items = human_loop["inputContent"]["items"]
                s.env.a2i.complete(human_loop["humanLoopName"], {i["id"]: truth[i["text"]] for i in items})
                reviewed += len(items)
            flush = json.loads((ROOT / "events" / "flush_labels" / "scheduled.json").read_text())
            s.env.router.invoke("FlushLabelsFunction", flush)  # the schedule flushes what is left
            say(
                f"Round {number}: {len(stream)} tickets classified, {queued} uncertain, {selected} selected, "
                f"{reviewed} reviewed"
            )
            round_started = time.monotonic()
            with s.steps(f"Round {number}: retraining") as steps:
                results = [s.env.stack.wait(arn) for arn in s.env.stack.deliver_new_uploads()]
            # one line for the round: the first execution that did not succeed, else the last one
            failed = [r for r in results if r["status"] != "SUCCEEDED"]
            worst = (failed or results or [{"status": "SUCCEEDED"}])[-1 if not failed else 0]
            report(s, f"Round {number}", worst, steps.line(), time.monotonic() - round_started)
            labels += reviewed
            version, value = active_metric(s)
            say(f"  active model {version}: F1 {_f1(value)} with {labels} labels")
            history.append(
                {
                    "round": number,
                    "streamed": len(stream),
                    "reviewed": reviewed,
                    "labels": labels,
                    "version": version,
                    "f1": value,
                }
            )
        show(s, Path(args.report))
    say("\nround  tickets  reviewed  labels  active F1")
    for row in history:
        counts = f"{row['round']:>5}  {row['streamed']:>7}  {row['reviewed']:>8}  {row['labels']:>6}"
        say(f"{counts}  {_f1(row['f1'])}")
    gains = sum(1 for a, b in itertools.pairwise(history) if (b["f1"] or 0) > (a["f1"] or 0))
    falls = sum(1 for a, b in itertools.pairwise(history) if (b["f1"] or 0) < (a["f1"] or 0))
    say(f"\nDone in {time.monotonic() - started:.1f} s: the metric rose in {gains} of {args.rounds} rounds.")
    say("(A challenger is promoted only when it is better beyond chance on the test set; the labels of one")
    say(" that is not stay in the dataset for the next challenger.)")
    return ExitCode.OK if gains >= 1 and falls == 0 else ExitCode.FAILED
