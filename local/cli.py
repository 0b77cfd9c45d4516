"""Command line of the offline stack.

python -m local.cli demo [--data PATH.csv]        the lifecycle demo: four rounds, two model kinds (make demo)
python -m local.cli loop                          the active-learning loop (make demo-loop)
python -m local.cli run --train PATH.csv [...]    a scenario on your own CSV, in rounds
python -m local.cli serve                         the stack until Ctrl-C (Comprehend URL printed)
python -m local.cli classify --text ...           POST /classify to a running serve (feedback likewise)
python -m local.cli registry                      the registry of the last run
python -m local.cli batches|readmit|drop|rollback  batches of a running serve; readmit / drop one; roll back
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import random
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE = ROOT / ".local-state"
DEFAULT_REPORT = ROOT / "reports" / "demo"

for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
}.items():
    os.environ.setdefault(_name, _value)  # offline: never real credentials, never a real account

from comprehend_al.models import ModelKind  # noqa: E402
from comprehend_al.pointers import Pointers  # noqa: E402
from comprehend_al.store.registry import Registry  # noqa: E402

from local import datagen, entitygen  # noqa: E402
from local.apigw import LocalHttpApi  # noqa: E402
from local.control import describe as describe_execution  # noqa: E402
from local.control import start as start_control  # noqa: E402
from local.report import model_rows, table, write_report  # noqa: E402
from local.stack import Offline, running  # noqa: E402

STEP_LABELS = {
    "PrepareTrainingDataFunction": "validate + merge",
    "GuardBatchesFunction": "guard",
    "StartModelBuildingFunction": "train",
    "StartTestJobFunction": "test job",
    "EvaluateModelFunction": "evaluate",
    "ModelSelectionFunction": "select",
    "StartEndpointFunction": "endpoint",
    "PromoteModelFunction": "promote (SSM)",
    "DeleteEndpointFunction": "delete old endpoint",
    "FinishRunFunction": "finish",
    "HandleFailureFunction": "clean up failure",
}


def say(message: str = "", *, end: str = "\n") -> None:
    sys.stdout.write(message + end)
    sys.stdout.flush()


@contextmanager
def session(
    state_dir: Path | None, parameters: dict[str, str] | None = None, *, review: bool = False
) -> Iterator[Offline]:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(state_dir) if state_dir else Path(scratch)
        with running(folder / "comprehend", parameters, review=review) as env:
            env.router.before_invoke.append(_progress)
            yield env
            snapshot(env, folder)


def _progress(function: str, _: Any) -> None:
    if function in STEP_LABELS:
        say(f" → {STEP_LABELS[function]}", end="")


def registry_items(env: Offline) -> dict[str, Any]:
    reg = Registry(env.stack.outputs["RegistryTableName"])
    out: dict[str, Any] = {"models": [], "datasets": {}}
    for kind in ModelKind:
        out["models"] += [m.model_dump(mode="json") for m in reg.models(kind)]
        out["datasets"].update({d.version: d.dataset.model_dump(mode="json") for d in reg.datasets(kind)})
    return out


def ssm_values(env: Offline) -> dict[str, str | None]:
    names = ["selection-metric", "min-improvement"] + [Pointers.key(kind) for kind in ModelKind]
    return {f"{env.stack.parameter_prefix}/{n}": env.stack.parameter(n) for n in names}


def snapshot(env: Offline, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = {**registry_items(env), "ssm": ssm_values(env), "written_at": time.time()}
    (folder / "registry.json").write_text(json.dumps(data, indent=2, default=str))


def run_round(env: Offline, title: str, key: str, body: bytes) -> dict[str, Any]:
    rows = body.count(b"\n")
    say(f"{title}: {rows} rows → s3://{env.stack.bucket}/{key}")
    say("  ", end="")
    started = time.monotonic()
    result = env.stack.upload(key, body)
    say(f"\n  execution {result['status']} in {time.monotonic() - started:.1f} s")
    return result


def show(env: Offline, report_dir: Path | None) -> list[dict[str, Any]]:
    items = registry_items(env)
    rows = model_rows(items["models"], items["datasets"])
    say("\n" + table(rows))
    ssm = ssm_values(env)
    say("\nSSM Parameter Store:")
    for name, value in ssm.items():
        say(f"  {name} = {value}")
    if report_dir:
        page = write_report(report_dir, rows, ssm, {"datasets": items["datasets"]})
        say(f"\nReport: {page} (chart: {page.parent / 'chart.svg'})")
    return rows


def split_csv(path: Path) -> tuple[list[datagen.Ticket], list[datagen.Ticket]]:
    """A user's ``LABEL,text`` CSV → (rows, fixed test set of 20%), validated like any upload."""
    from comprehend_al.datasets.classification import parse_upload

    rows = [
        datagen.Ticket(r.labels[0], r.text)
        for r in parse_upload(path.read_bytes(), file=str(path), multi_label=False)
    ]
    random.Random(0).shuffle(rows)
    cut = max(1, len(rows) // 5)
    return rows[cut:], rows[:cut]


def demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.data:
        train, test = split_csv(Path(args.data))
        first, second = train[: len(train) // 5], train[len(train) // 5 :]
        harmful = datagen.mislabel(second, seed=3)
        source = args.data
    else:
        test = datagen.generate(200, seed=99)
        first, second = datagen.generate(75, seed=1), datagen.generate(400, seed=2, noise=0.03)
        harmful = datagen.mislabel(datagen.generate(600, seed=3))
        source = "generated support tickets (local/datagen.py), 5 labels"
    say(f"Offline demo on {source}: the real template, state machine and handlers, against moto and a")
    say("local Comprehend-compatible service that really trains models.\n")
    with session(args.state_dir) as env:
        say(f"Stack deployed into moto; local Comprehend at {env.comprehend.url}")
        env.stack.put("test/classifier/test.csv", datagen.to_csv(test))
        say(f"Fixed test set: {len(test)} rows → s3://{env.stack.bucket}/test/classifier/test.csv\n")
        run_round(env, "Round 1, the first model", "train/new/round-1.csv", datagen.to_csv(first))
        poisoned = time.monotonic()
        run_round(
            env, "Round 2, a harmful batch (labels shifted)", "train/new/round-2.csv", datagen.to_csv(harmful)
        )
        held = show_held(env)
        run_round(env, "Round 3, clean labelled data", "train/new/round-3.csv", datagen.to_csv(second))
        recovered = time.monotonic() - poisoned
        entity_round(env)
        rows = show(env, Path(args.report))
    decisions = {
        k: [r["decision"] for r in rows if r["kind"] == k] for k in ("classifier", "entity_recognizer")
    }
    say(
        f"\nDone in {time.monotonic() - started:.1f} s: classifier {decisions['classifier']}, "
        f"entity recognizer {decisions['entity_recognizer']}; the harmful batch held before training, and "
        f"{recovered:.1f} s from its upload to a better model in service (no training paid for it)."
    )
    expected = {"classifier": ["promote", "promote"], "entity_recognizer": ["promote"]}
    return 0 if (decisions == expected and held) or args.data else 1


def show_held(env: Offline) -> bool:
    """What the guard held in the last round, with its report (False: nothing was held)."""
    found = [b for b in Registry(env.stack.outputs["RegistryTableName"]).batches(ModelKind.CLASSIFIER)]
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
        report = json.loads(env_get(env, str(batch.report_uri)))
        rows = [
            f"line {r['line']}: {r['given']} → {r['champion']} ({r['score']:.2f})"
            for r in report["suspicious"][:3]
        ]
        say("    most suspicious rows: " + "; ".join(rows))
        say(f"    report: {batch.report_uri}")
        say(f"    readmit or drop it: python -m local.cli readmit|drop {batch.batch_id} (on a running serve)")
    return bool(held)


def env_get(env: Offline, uri: str) -> bytes:
    import boto3

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bytes(
        boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read()
    )


def entity_round(env: Offline) -> None:
    """A custom entity recognizer (TICKER, COMPANY, PERSON) through the same lifecycle."""
    test_documents, test_annotations = entitygen.to_files(entitygen.generate(80, seed=99))
    env.stack.put("test/entities/documents.txt", test_documents)
    env.stack.put("test/entities/annotations.csv", test_annotations)
    documents, annotations = entitygen.to_files(entitygen.generate(120, seed=1))
    folder = f"s3://{env.stack.bucket}/train/new/news-1/"
    say(
        f"\nRound 4, entity annotations (TICKER, COMPANY, PERSON): documents.txt + annotations.csv → {folder}"
    )
    env.stack.upload("train/new/news-1/documents.txt", documents)  # incomplete: stays pending
    say("  ", end="")
    started = time.monotonic()
    result = env.stack.upload("train/new/news-1/annotations.csv", annotations)
    say(f"\n  execution {result['status']} in {time.monotonic() - started:.1f} s")


def api(env: Offline, function: str, sample: str, body: dict[str, Any]) -> dict[str, Any]:
    """Call an HTTP API function the way API Gateway does (the sample event of events/ with this body)."""
    event = json.loads((ROOT / "events" / sample).read_text())
    event["body"] = json.dumps(body)
    result, error = env.router.invoke(function, event)
    if error:
        raise RuntimeError(f"{function}: {result}")
    return dict(json.loads(result["body"]))


def active_metric(env: Offline, metric: str = "F1Score") -> tuple[str, float | None]:
    """(version, metric on the fixed test set) of the active classifier."""
    version = env.stack.active(ModelKind.CLASSIFIER).version
    if not version:
        return "-", None
    model = Registry(env.stack.outputs["RegistryTableName"]).model(ModelKind.CLASSIFIER, version)
    if model is None:
        return version, None
    scores = model.evaluations.get(str(model.test_version), {})  # the fixed test set of its own run
    value = scores.get(metric)
    return version, float(value) if value is not None else None


def demo_loop(args: argparse.Namespace) -> int:
    """Active learning end to end: a small seed model, a stream of unlabelled tickets through /classify,
    uncertain ones reviewed (an automatic reviewer that knows the true labels answers the A2I queue),
    reviewed labels batched into uploads that retrain the model."""
    started = time.monotonic()
    blur = 0.6  # tickets that often mention a second topic: the seed model is unsure of many
    test = datagen.generate(300, seed=99, blur=blur)
    seed = datagen.generate(50, seed=1, blur=blur)
    parameters = {
        "ReviewStrategy": "margin",
        "ReviewThreshold": str(args.threshold),
        "ReviewDailyBudget": "10000",
        "RetrainBatchSize": str(args.batch),
    }
    say("Active-learning loop on the offline stack: /classify → review of uncertain predictions (A2I) →")
    say(
        f"labelled uploads → retraining. Review: margin < {args.threshold}; batches of {args.batch} labels.\n"
    )
    history: list[dict[str, Any]] = []
    with session(args.state_dir, parameters, review=True) as env:
        env.stack.put("test/classifier/test.csv", datagen.to_csv(test))
        run_round(env, "Seed model", "train/new/seed.csv", datagen.to_csv(seed))
        version, value = active_metric(env)
        history.append(
            {"round": 0, "streamed": 0, "reviewed": 0, "labels": len(seed), "version": version, "f1": value}
        )
        labels = len(seed)
        for number in range(1, args.rounds + 1):
            stream = datagen.generate(args.stream, seed=1000 + number, blur=blur)
            truth = {t.text: t.label for t in stream}
            selected = sum(
                bool(
                    api(env, "ClassifyFunction", "classify/text.json", {"text": t.text})["review"]["selected"]
                )
                for t in stream
            )
            reviewed = 0
            for loop in env.a2i.pending():  # the automatic reviewer
                items = loop["inputContent"]["items"]
                env.a2i.complete(loop["humanLoopName"], {item["id"]: truth[item["text"]] for item in items})
                reviewed += len(items)
            flush = json.loads((ROOT / "events" / "flush_labels" / "scheduled.json").read_text())
            env.router.invoke("FlushLabelsFunction", flush)  # the schedule flushes what is left
            say(
                f"Round {number}: {len(stream)} tickets classified, {selected} uncertain, {reviewed} reviewed"
            )
            say("  ", end="")
            for arn in env.stack.deliver_new_uploads():
                env.stack.wait(arn)
            labels += reviewed
            version, value = active_metric(env)
            say(f"\n  active model {version}: F1 {value:.3f} with {labels} labels")
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
        show(env, Path(args.report))
    say("\nround  tickets  reviewed  labels  active F1")
    for row in history:
        counts = f"{row['round']:>5}  {row['streamed']:>7}  {row['reviewed']:>8}  {row['labels']:>6}"
        say(f"{counts}  {row['f1']:.3f}")
    gains = sum(1 for a, b in itertools.pairwise(history) if b["f1"] > a["f1"])
    falls = sum(1 for a, b in itertools.pairwise(history) if b["f1"] < a["f1"])
    say(f"\nDone in {time.monotonic() - started:.1f} s: the metric rose in {gains} of {args.rounds} rounds.")
    say("(A challenger is promoted only when it is better beyond chance on the test set; the labels of one")
    say(" that is not stay in the dataset for the next challenger.)")
    return 0 if gains >= 1 and falls == 0 else 1


def run(args: argparse.Namespace) -> int:
    rows, test = split_csv(Path(args.train))
    if args.test:
        from comprehend_al.datasets.classification import parse_upload

        rows = rows + test  # with a given test set, nothing of --train is held out
        test = [
            datagen.Ticket(r.labels[0], r.text)
            for r in parse_upload(Path(args.test).read_bytes(), file=args.test, multi_label=False)
        ]
    size = max(1, len(rows) // args.rounds)
    with session(args.state_dir) as env:
        env.stack.put("test/classifier/test.csv", datagen.to_csv(test))
        for i in range(args.rounds):
            batch = rows[i * size : (i + 1) * size] if i < args.rounds - 1 else rows[i * size :]
            run_round(env, f"Round {i + 1}", f"train/new/round-{i + 1}.csv", datagen.to_csv(batch))
        show(env, Path(args.report) if args.report else None)
    return 0


def serve(args: argparse.Namespace) -> int:
    with session(args.state_dir, review=True) as env:
        say(f"Local Comprehend endpoint: {env.comprehend.url}")
        say(f"Human review page (local A2I runtime): {env.a2i.url}/review")
        api = LocalHttpApi(env.stack.template, env.router)
        api_url = api.start()
        folder = Path(args.state_dir) if args.state_dir else DEFAULT_STATE
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "api-url").write_text(api_url)
        say(f"HTTP API (POST {', '.join(sorted(p.split()[1] for p in api.routes))}): {api_url}")
        control, control_url = start_control(env.stack)  # batches / readmit / drop / rollback
        (folder / "control-url").write_text(control_url)
        say("  python -m local.cli classify --text 'my parcel never arrived'   (then: feedback --label ...)")
        if not args.empty:  # a first model, so that there is an endpoint to call
            env.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(200, seed=99)))
            run_round(
                env,
                "Training a first classifier",
                "train/new/seed.csv",
                datagen.to_csv(datagen.generate(300)),
            )
            endpoint = env.stack.active(ModelKind.CLASSIFIER).endpoint_arn
            url = env.comprehend.url
            say(f"  aws comprehend classify-document --endpoint-url {url} --region us-east-1 \\")
            say(f'      --endpoint-arn {endpoint} --text "my parcel never arrived"')
        say(f"  aws comprehend list-endpoints --endpoint-url {env.comprehend.url} --region us-east-1")
        say(
            f"Data bucket (in-process moto): {env.stack.bucket}; state machine: {env.stack.state_machine_arn}"
        )
        say("Serving until Ctrl-C.")
        try:
            while True:
                time.sleep(5)
                snapshot(env, Path(args.state_dir) if args.state_dir else DEFAULT_STATE)
        except KeyboardInterrupt:
            control.stop()
            say("\nstopped")
    return 0


def _api_url(args: argparse.Namespace) -> str:
    if args.api:
        return str(args.api)
    path = Path(args.state_dir or DEFAULT_STATE) / "api-url"
    if not path.exists():
        raise SystemExit(
            f"no running stack: start `python -m local.cli serve` first (or pass --api URL); {path}"
        )
    return path.read_text().strip()


def _post(url: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    say(f"HTTP {status}")
    say(json.dumps(json.loads(payload or b"{}"), indent=2))
    return 0 if status < 400 else 1


def classify(args: argparse.Namespace) -> int:
    """POST /classify on the HTTP API of a running `serve`."""
    return _post(f"{_api_url(args)}/classify", {"text": args.text})


def feedback(args: argparse.Namespace) -> int:
    """POST /feedback: the user's corrected label for a prediction id or a text."""
    body: dict[str, Any] = {"label": args.label}
    body.update({"prediction_id": args.prediction_id} if args.prediction_id else {"text": args.text})
    return _post(f"{_api_url(args)}/feedback", body)


def registry(args: argparse.Namespace) -> int:
    path = Path(args.state_dir or DEFAULT_STATE) / "registry.json"
    if not path.exists():
        say(f"no registry snapshot at {path}: run `python -m local.cli demo --state-dir {path.parent}` first")
        return 1
    data = json.loads(path.read_text())
    say(table(model_rows(data["models"], data["datasets"])))
    for name, value in data["ssm"].items():
        say(f"{name} = {value}")
    return 0


# --- batches and rollback on a running `serve` (what `make rollback` and start-execution do on AWS) -----
def _control(args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    if args.control:
        base = str(args.control)
    else:
        url_file = Path(args.state_dir or DEFAULT_STATE) / "control-url"
        if not url_file.exists():
            raise SystemExit(f"no running stack: start `python -m local.cli serve` first ({url_file})")
        base = url_file.read_text().strip()
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}, method=method
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read() or b"null")


def batches_command(args: argparse.Namespace) -> int:
    """The batches of a kind: status, origin, source, rows, and why."""
    found = _control(args, "GET", f"/batches/{args.kind}")
    say(f"{'batch':<17} {'status':<11} {'origin':<8} {'rows':>5}  source / reason")
    for b in found:
        say(f"{b['batch_id']:<17} {b['status']:<11} {b['origin']:<8} {b['rows']:>5}  {b['source']}")
        if b.get("reason") and b["status"] in {"held", "dropped", "quarantined"}:
            say(f"{'':<44}{b['reason'][:160]}")
    return 0


def change_batch_command(args: argparse.Namespace) -> int:
    """readmit / drop: an execution with ``{"batch": ...}`` (the same input on AWS)."""
    request = {
        "kind": args.kind,
        "batch_id": args.batch,
        "action": args.action,
        "by": args.by,
        "reason": args.reason,
    }
    result = _control(args, "POST", "/executions", {"input": {"batch": request}})
    say(describe_execution(result))
    return 0 if result.get("status") == "SUCCEEDED" else 1


def rollback_command(args: argparse.Namespace) -> int:
    """One-command rollback: an execution with ``{"rollback": ...}`` (``make rollback`` on AWS)."""
    request = {
        "kind": args.kind,
        "version": args.version,
        "by": args.by,
        "reason": args.reason,
        "hold_batches_after": args.hold_batches_after,
    }
    started = time.monotonic()
    result = _control(args, "POST", "/executions", {"input": {"rollback": request}})
    say(f"{describe_execution(result)} in {time.monotonic() - started:.1f} s")
    return 0 if result.get("status") == "SUCCEEDED" else 1


def _operation_parser(sub: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text)
    p.add_argument("--kind", default="classifier", choices=[k.value for k in ModelKind])
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    p.add_argument("--control", help="control URL of a running `serve` (default: the one it wrote)")
    if name != "batches":
        p.add_argument("--by", default=os.environ.get("USER", "unknown"), help="who (recorded)")
        p.add_argument("--reason", default="", help="why (recorded)")
    return p


def add_batch_commands(sub: Any) -> None:
    _operation_parser(sub, "batches", "the batches of a running `serve`").set_defaults(func=batches_command)
    for action, help_text in (
        ("readmit", "return a held batch to training (it trains at once)"),
        ("drop", "drop a batch: a dataset version without its rows"),
    ):
        p = _operation_parser(sub, action, help_text)
        p.add_argument("batch", help="the batch id (see `batches`)")
        p.set_defaults(func=change_batch_command, action=action)
    p = _operation_parser(sub, "rollback", "bring an earlier model version back into service")
    p.add_argument("--version", required=True)
    p.add_argument("--hold-batches-after", action="store_true", help="hold the batches it was not trained on")
    p.set_defaults(func=rollback_command)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("moto").setLevel(logging.ERROR)  # e.g. "no CloudFormation support for BucketPolicy"
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(
        prog="python -m local.cli", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="first model, a harmful batch held by the guard, a promoted clean round")
    p.add_argument("--data", help="your own LABEL,text CSV instead of generated tickets")
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    p.add_argument("--report", default=str(DEFAULT_REPORT))
    p.set_defaults(func=demo)
    p = sub.add_parser("loop", help="active learning: classify a stream, review uncertain ones, retrain")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--stream", type=int, default=150, help="unlabelled tickets classified per round")
    p.add_argument("--threshold", type=float, default=0.3, help="review when top1 - top2 is below this")
    p.add_argument("--batch", type=int, default=20, help="reviewed labels per training upload")
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    p.add_argument("--report", default=str(ROOT / "reports" / "loop"))
    p.set_defaults(func=demo_loop)
    p = sub.add_parser("run", help="a scenario on a CSV: fixed test set + training data in rounds")
    p.add_argument("--train", required=True)
    p.add_argument("--test", help="fixed test set (default: 20%% of --train held out)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    p.add_argument("--report")
    p.set_defaults(func=run)
    p = sub.add_parser("serve", help="run the stack until Ctrl-C, printing the local Comprehend URL")
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    p.add_argument("--empty", action="store_true", help="do not train a first classifier")
    p.set_defaults(func=serve)
    p = sub.add_parser("classify", help="POST /classify to a running `serve`")
    p.add_argument("--text", required=True)
    p.add_argument("--api", help="HTTP API URL (default: the one `serve` wrote to the state directory)")
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    p.set_defaults(func=classify)
    p = sub.add_parser("feedback", help="POST /feedback (a corrected label) to a running `serve`")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--prediction-id")
    target.add_argument("--text")
    p.add_argument("--label", required=True)
    p.add_argument("--api", help="HTTP API URL (default: the one `serve` wrote to the state directory)")
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    p.set_defaults(func=feedback)
    p = sub.add_parser("registry", help="show the model registry of the last run")
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    p.set_defaults(func=registry)
    add_batch_commands(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
