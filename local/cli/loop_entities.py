"""``loop --kind entities``: the entity recognizer's active-learning loop end to end on the offline stack.

A first recognizer (a weak seed batch), then rounds ("days") of: a stream of generated news sentences through
``/analyze`` (uncertain documents go to people as entity human loops, pre-filled with the model's spans,
under the day's entity budget, each loop carrying one gold document), simulated annotators answering each
loop through the local A2I runtime (two per document: two honest ones with a small error rate, one careless
one who mostly accepts the model's spans as they are), and the annotation pipeline ProcessReview runs on
every completed loop (:mod:`comprehend_al.annotation`: gold scoring, agreement, adjudication loops, which an
expert answers here, and accepted documents written as entity batches under ``train/new/``), then
retraining through the real state machine. Per round: the active recognizer's F1 on the fixed test set (the
workflow's own evaluation), the answers spent and each annotator's figures
(:func:`comprehend_al.annotation.quality.report`).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import entitygen
from local.cli.base import ROOT, ExitCode, say
from local.cli.rounds import report
from local.cli.session import Session, bar, session

Answer = list[dict[str, Any]]  # the contract: [{"BeginOffset": int, "EndOffset": int, "Type": str}, ...]


@dataclass
class Annotator:
    """A simulated person: ``error_rate`` of the true spans are dropped or retyped; a ``careless`` one
    accepts the model's pre-filled spans as they are (with the same error rate on top)."""

    name: str
    error_rate: float
    careless: bool = False
    rng: random.Random = field(default_factory=random.Random)

    def answer(self, truth: Sequence[tuple[int, int, str]], prefill: Answer) -> Answer:
        base = truth
        if self.careless and self.rng.random() < 0.9:  # the model's spans, then the same slips on top
            base = [(e["BeginOffset"], e["EndOffset"], e["Type"]) for e in prefill]
        spans: Answer = []
        for begin, end, type_ in base:
            roll = self.rng.random()
            if roll < self.error_rate / 2:
                continue  # missed
            if roll < self.error_rate:
                type_ = self.rng.choice([t for t in entitygen.TYPES if t != type_])
            spans.append({"BeginOffset": begin, "EndOffset": end, "Type": type_})
        return spans


def batch_files(accepted: Sequence[tuple[str, Answer]]) -> tuple[bytes, bytes]:
    """documents.txt + annotations.csv of the accepted documents, checked by the upload validator."""
    from comprehend_al.datasets.entities import validate_upload

    documents = [
        entitygen.Document(text, tuple((s["BeginOffset"], s["EndOffset"], s["Type"]) for s in spans))
        for text, spans in accepted
    ]
    files = entitygen.to_files(documents)
    validate_upload(*files, documents_file="documents.txt", annotations_file="annotations.csv")
    return files


def active_f1(s: Session) -> tuple[str, float | None]:
    """(version, F1 on the fixed test set) of the active recognizer, from the workflow's evaluation."""
    from comprehend_al.models import ModelKind
    from comprehend_al.store.registry import Registry

    kind = ModelKind.ENTITY_RECOGNIZER
    version = s.env.stack.active(kind).version
    if not version:
        return "-", None
    model = Registry(s.env.stack.outputs["RegistryTableName"]).model(kind, version)
    if model is None:
        return version, None
    value = model.evaluations.get(str(model.test_version), {}).get("F1Score")
    return version, float(value) if value is not None else None


def _recognize(s: Session, text: str) -> Answer:
    """The active recognizer's spans for a text (DetectEntities on its endpoint), as a loop pre-fills them."""
    import boto3

    endpoint = s.env.stack.active(_kind()).endpoint_arn
    client = boto3.client("comprehend", endpoint_url=s.env.comprehend.url, region_name="us-east-1")
    found = client.detect_entities(Text=text, EndpointArn=str(endpoint))["Entities"]
    return [
        {"BeginOffset": e["BeginOffset"], "EndOffset": e["EndOffset"], "Type": e["Type"], "Score": e["Score"]}
        for e in found
    ]


def _kind() -> Any:
    from comprehend_al.models import ModelKind

    return ModelKind.ENTITY_RECOGNIZER


def _analyze(s: Session, text: str) -> dict[str, Any]:
    event = json.loads((ROOT / "events" / "analyze" / "analyze.json").read_text())
    event["body"] = json.dumps({"text": text})
    result, error = s.env.router.invoke("AnalyzeFunction", event)
    if error:
        raise RuntimeError(f"AnalyzeFunction: {result}")
    return dict(json.loads(result["body"]))


def _retrain(s: Session, title: str, name: str, accepted: Sequence[tuple[str, Answer]]) -> str:
    documents, annotations = batch_files(accepted)
    s.env.stack.put(f"train/new/{name}/documents.txt", documents)
    s.env.stack.put(f"train/new/{name}/annotations.csv", annotations)
    started = time.monotonic()
    with s.steps(title) as steps:
        results = [s.env.stack.wait(arn) for arn in s.env.stack.deliver_new_uploads()]
    failed = [r for r in results if r["status"] != "SUCCEEDED"]
    worst = (failed or results or [{"status": "SUCCEEDED"}])[0 if failed else -1]
    return report(s, title, worst, steps.line(), time.monotonic() - started).status


def _settings(s: Session, values: dict[str, str]) -> None:
    """SSM parameters under the stack's prefix, as an operator sets them."""
    import boto3

    ssm = boto3.client("ssm", region_name="us-east-1")
    for name, value in values.items():
        ssm.put_parameter(
            Name=f"{s.env.stack.parameter_prefix}/{name}", Value=value, Type="String", Overwrite=True
        )


def _add_gold(s: Session, gold: Sequence[entitygen.Document]) -> dict[str, Answer]:
    """The gold documents (known answers), pre-filled with the first recognizer's spans like any task."""
    from comprehend_al.annotation.gold import GoldSet
    from comprehend_al.aws.s3 import Bucket

    gold_set = GoldSet(Bucket(s.env.stack.bucket))
    answers = {}
    for n, document in enumerate(gold):
        item_id = f"gold-{n}"
        gold_set.add(item_id, document.text, _spans(document), entities=_recognize(s, document.text))
        answers[item_id] = _spans(document)
    return answers


def _output(s: Session, uri: str) -> dict[str, Any]:
    import boto3
    from comprehend_al.aws.s3 import split_uri

    bucket, key = split_uri(uri)
    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read()
    return dict(json.loads(body))


def entity_loop(args: argparse.Namespace) -> int:
    """The entity loop; exits 1 unless F1 rose and only the careless annotator's work was held."""
    from comprehend_al.annotation.quality import report as quality_report

    started = time.monotonic()
    test = entitygen.generate(150, seed=99)
    rng = random.Random(5)
    annotators = [
        Annotator("ana", 0.03, rng=random.Random(rng.random())),
        Annotator("ben", 0.03, rng=random.Random(rng.random())),
        Annotator("cal", 0.3, careless=True, rng=random.Random(rng.random())),
    ]
    say("Entity active-learning loop on the offline stack: /analyze → entity loops (A2I) for uncertain")
    say("documents, each with one gold document → two annotators per loop (ana, ben; cal is careless) →")
    say("ProcessReview: gold scores, agreement, adjudication → entity batches in train/new/ → retraining.")
    say(f"Review: {args.strategy} below {args.threshold}, {args.budget} loops a day; gold F1 below")
    say(f"{args.gold_threshold} holds an annotator's work.\n")
    history: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    figures: dict[str, Any] = {}
    with session(args.state_dir, {"RetrainBatchSize": "1000"}, review=True, command="loop") as s:
        documents, annotations = entitygen.to_files(test)
        s.env.stack.put("test/entities/documents.txt", documents)
        s.env.stack.put("test/entities/annotations.csv", annotations)
        seed = entitygen.weak_start(args.seed_size, seed=1)
        _retrain(s, "Seed recognizer", "seed", [(d.text, _spans(d)) for d in seed])
        known = _add_gold(s, entitygen.generate(args.gold, seed=77))
        _settings(
            s,
            {
                "entity_recognizer/review-strategy": args.strategy,
                "entity_recognizer/review-threshold": str(args.threshold),
                "entity_recognizer/review-gold-rate": "1",
                "annotation-gold-threshold": str(args.gold_threshold),
                "annotation-batch-size": str(args.budget),
            },
        )
        version, f1 = active_f1(s)
        history.append({"round": 0, "streamed": 0, "reviewed": 0, "answers": 0, "version": version, "f1": f1})
        answers_spent = 0
        for number in range(1, args.rounds + 1):
            # each round is one day of the stream: the day's budget allows --budget more loops
            _settings(s, {"entity_recognizer/review-daily-budget": str(args.budget * number)})
            stream = entitygen.generate(args.stream, seed=1000 + number)
            truth = {d.text: _spans(d) for d in stream}
            selected = 0
            for doc in bar(stream, f"Round {number}: /analyze", unit="doc"):
                selected += bool((_analyze(s, doc.text).get("entity_review") or {}).get("selected"))
            loops = [p for p in s.env.a2i.pending() if p["inputContent"].get("kind") == "entities"]
            reviewed = 0
            for n, loop in enumerate(loops):  # two people per loop, in turn
                items = loop["inputContent"]["items"]
                for a in (annotators[n % 3], annotators[(n + 1) % 3]):
                    given = {
                        i["id"]: a.answer(_tuples(known.get(i["id"]) or truth[i["text"]]), i["entities"])
                        for i in items
                    }
                    uri = s.env.a2i.complete(loop["humanLoopName"], given, worker_id=a.name)
                    answers_spent += len(given)
                reviewed += sum(1 for i in items if i["id"] not in known)
                outputs.append(_output(s, uri))
            adjudicated = 0
            for loop in [p for p in s.env.a2i.pending() if p["inputContent"].get("kind") == "adjudication"]:
                final = {
                    i["id"]: known.get(i["id"]) or truth[i["text"]] for i in loop["inputContent"]["items"]
                }
                s.env.a2i.complete(loop["humanLoopName"], final, worker_id="judge")
                adjudicated += len(final)
                answers_spent += len(final)
            figures = quality_report(
                outputs,
                gold={k: [_span(x) for x in v] for k, v in known.items()},
                threshold=args.gold_threshold,
            )
            people = ", ".join(
                f"{w} gold {f['gold_accuracy']}{' HELD' if f['held'] else ''}"
                for w, f in figures["annotators"].items()
            )
            say(
                f"Round {number}: {len(stream)} documents analyzed, {selected} to review; "
                f"{adjudicated} adjudicated; {people}"
            )
            started_round = time.monotonic()
            with s.steps(f"Round {number}: retraining") as steps:
                results = [s.env.stack.wait(arn) for arn in s.env.stack.deliver_new_uploads()]
            if results:
                failed = [r for r in results if r["status"] != "SUCCEEDED"]
                worst = (failed or results)[0 if failed else -1]
                report(s, f"Round {number}", worst, steps.line(), time.monotonic() - started_round)
            else:
                say("  no batch this round (accepted documents wait for annotation-batch-size)")
            version, f1 = active_f1(s)
            say(f"  active recognizer {version}: F1 {_fmt(f1)}; {answers_spent} answers spent so far")
            history.append(
                {
                    "round": number,
                    "streamed": len(stream),
                    "reviewed": reviewed,
                    "answers": answers_spent,
                    "version": version,
                    "f1": f1,
                }
            )
    say("\nround  analyzed  reviewed  answers  active F1")
    for row in history:
        counts = f"{row['round']:>5}  {row['streamed']:>8}  {row['reviewed']:>8}  {row['answers']:>7}"
        say(f"{counts}  {_fmt(row['f1'])}")
    held = {w for w, f in figures.get("annotators", {}).items() if f["held"]}
    first, last = history[0]["f1"] or 0.0, history[-1]["f1"] or 0.0
    careless_held = held == {"cal"}
    say(
        f"\nDone in {time.monotonic() - started:.1f} s: F1 {_fmt(first)} → {_fmt(last)}; "
        f"work held: {', '.join(sorted(held)) or 'nobody'}."
    )
    summary = {
        "rounds": history,
        "quality": figures,
        "held": sorted(held),
        "f1_rose": last > first,
        "careless_held": careless_held,
    }
    if args.report:
        folder = Path(args.report)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "entity-loop.json").write_text(json.dumps(summary, indent=2))
    return ExitCode.OK if last > first and careless_held else ExitCode.FAILED


def _spans(document: entitygen.Document) -> Answer:
    return _spans_of(document.spans)


def _spans_of(spans: Sequence[tuple[int, int, str]]) -> Answer:
    return [{"BeginOffset": b, "EndOffset": e, "Type": t} for b, e, t in spans]


def _tuples(spans: Answer) -> list[tuple[int, int, str]]:
    return [(int(x["BeginOffset"]), int(x["EndOffset"]), str(x["Type"])) for x in spans]


def _span(value: dict[str, Any]) -> Any:
    from comprehend_al.annotation.spans import Span

    return Span(int(value["BeginOffset"]), int(value["EndOffset"]), str(value["Type"]))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
