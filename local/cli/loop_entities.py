"""``loop --kind entities``: the entity recognizer's active-learning loop end to end on the offline stack.

A first recognizer (a weak seed batch), then rounds of: a stream of generated news sentences through
``/analyze`` (uncertain documents go to people as entity human loops, pre-filled with the model's spans,
under the day's entity budget), simulated annotators answering each loop (two honest ones with a small
error rate, one careless one who mostly accepts the model's spans as they are), quality control, accepted
documents written as an entity batch under ``train/new/`` (checked by the upload validator), and retraining
through the real state machine. Per round: the active recognizer's F1 on the fixed test set (the
workflow's own evaluation) and the labels spent.

Quality control (:func:`consolidate`): every annotator also answers the gold documents (known answers)
each round; an annotator whose span F1 on them is below ``--gold-threshold`` has their work held (not
trained on). A document is accepted when two trusted annotators agree exactly; otherwise it goes to
adjudication (here an expert who knows the generator's answer) and the adjudicated version is accepted.

Why the answers do not go through ``A2IService.complete`` yet: the local A2I runtime takes classification
answers only, and multi-annotator entity loops, agreement, gold documents and adjudication are the
annotation tool's (branch ``annotate``). Until it lands, this module does that part itself in
:func:`consolidate`, against the same contract (``{"<item id>": [{"BeginOffset", "EndOffset", "Type"}]}``
per worker), and stops the loops it consumed.
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
        if self.careless and self.rng.random() < 0.9:
            return [{k: e[k] for k in ("BeginOffset", "EndOffset", "Type")} for e in prefill]
        spans: Answer = []
        for begin, end, type_ in truth:
            roll = self.rng.random()
            if roll < self.error_rate / 2:
                continue  # missed
            if roll < self.error_rate:
                type_ = self.rng.choice([t for t in entitygen.TYPES if t != type_])
            spans.append({"BeginOffset": begin, "EndOffset": end, "Type": type_})
        return spans


def _key(answer: Answer) -> frozenset[tuple[int, int, str]]:
    return frozenset((int(s["BeginOffset"]), int(s["EndOffset"]), str(s["Type"])) for s in answer)


def span_f1(answer: Answer, truth: Sequence[tuple[int, int, str]]) -> float:
    got, want = _key(answer), frozenset(truth)
    if not got and not want:
        return 1.0
    hits = len(got & want)
    return 2 * hits / (len(got) + len(want)) if got or want else 1.0


@dataclass
class Consolidated:
    accepted: list[tuple[str, Answer]]  # (text, spans) to train on
    agreed: int
    adjudicated: int
    held: dict[str, int]  # annotator → answers held
    gold_accuracy: dict[str, float]  # annotator → mean span F1 on the gold documents


def consolidate(
    items: dict[str, str],
    answers: dict[str, dict[str, Answer]],
    gold_accuracy: dict[str, float],
    threshold: float,
    adjudicate: dict[str, Answer],
) -> Consolidated:
    """``items``: id → text; ``answers``: worker → {item id → spans}. Trusted workers' agreeing answers are
    accepted; any other item is adjudicated; a worker below ``threshold`` on the gold documents is held."""
    held = {w: len(a) for w, a in answers.items() if gold_accuracy.get(w, 0.0) < threshold}
    accepted: list[tuple[str, Answer]] = []
    agreed = adjudicated = 0
    for item_id, text in items.items():
        trusted = [a[item_id] for w, a in answers.items() if w not in held and item_id in a]
        if len(trusted) >= 2 and all(_key(t) == _key(trusted[0]) for t in trusted[1:]):
            accepted.append((text, trusted[0]))
            agreed += 1
        else:
            accepted.append((text, adjudicate[item_id]))
            adjudicated += 1
    return Consolidated(accepted, agreed, adjudicated, held, dict(gold_accuracy))


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


def entity_loop(args: argparse.Namespace) -> int:
    """The entity loop; exits 1 unless F1 rose and the careless annotator's work was held."""
    started = time.monotonic()
    test = entitygen.generate(150, seed=99)
    gold = entitygen.generate(args.gold, seed=77)
    rng = random.Random(5)
    annotators = [
        Annotator("ana", 0.03, rng=random.Random(rng.random())),
        Annotator("ben", 0.03, rng=random.Random(rng.random())),
        Annotator("cal", 0.3, careless=True, rng=random.Random(rng.random())),
    ]
    say("Entity active-learning loop on the offline stack: /analyze → entity review of uncertain documents")
    say(
        f"(A2I) → annotators {', '.join(a.name for a in annotators)} (cal is careless) → gold-document check,"
    )
    say(f"agreement, adjudication → entity batches in train/new/ → retraining. Strategy {args.strategy},")
    say(f"threshold {args.threshold}, daily entity budget {args.budget}.\n")
    history: list[dict[str, Any]] = []
    held_total: dict[str, int] = {}
    with session(args.state_dir, {"RetrainBatchSize": "1000"}, review=True, command="loop") as s:
        documents, annotations = entitygen.to_files(test)
        s.env.stack.put("test/entities/documents.txt", documents)
        s.env.stack.put("test/entities/annotations.csv", annotations)
        seed = entitygen.weak_start(args.seed_size, seed=1)
        _retrain(s, "Seed recognizer", "seed", [(d.text, _spans(d)) for d in seed])
        version, f1 = active_f1(s)
        history.append({"round": 0, "streamed": 0, "reviewed": 0, "answers": 0, "version": version, "f1": f1})
        labels = 0
        for number in range(1, args.rounds + 1):
            # each round is one day of the stream: the day's budget allows --budget more loops
            _entity_review(s, args.strategy, args.threshold, args.budget * number)
            stream = entitygen.generate(args.stream, seed=1000 + number)
            truth = {d.text: d.spans for d in stream}
            selected = 0
            for doc in bar(stream, f"Round {number}: /analyze", unit="doc"):
                selected += bool((_analyze(s, doc.text).get("entity_review") or {}).get("selected"))
            loops = [p for p in s.env.a2i.pending() if p["inputContent"].get("kind") == "entities"]
            items = {i["id"]: i for p in loops for i in p["inputContent"]["items"]}
            answers: dict[str, dict[str, Answer]] = {a.name: {} for a in annotators}
            for n, (item_id, item) in enumerate(items.items()):
                for a in (annotators[n % 3], annotators[(n + 1) % 3]):  # two people per document
                    answers[a.name][item_id] = a.answer(truth[item["text"]], item["entities"])
            prefills = [_recognize(s, d.text) for d in gold]  # gold documents look like any other task
            gold_accuracy = {
                a.name: sum(
                    span_f1(a.answer(d.spans, p), d.spans) for d, p in zip(gold, prefills, strict=True)
                )
                / len(gold)
                for a in annotators
            }
            result = consolidate(
                {i: item["text"] for i, item in items.items()},
                answers,
                gold_accuracy,
                args.gold_threshold,
                {i: _spans_of(truth[item["text"]]) for i, item in items.items()},
            )
            for p in loops:  # consumed here (see the module's note)
                s.env.a2i.stop_human_loop({"HumanLoopName": p["humanLoopName"]})
            for name, count in result.held.items():
                held_total[name] = held_total.get(name, 0) + count
            spent = sum(len(a) for a in answers.values()) + len(gold) * len(annotators)
            labels += spent
            gold_line = ", ".join(f"{w} {v:.2f}" for w, v in result.gold_accuracy.items())
            say(
                f"Round {number}: {len(stream)} documents analyzed, {selected} to review, "
                f"{result.agreed} agreed, {result.adjudicated} adjudicated; gold F1: {gold_line}; "
                f"held: {', '.join(f'{w} ({c} answers)' for w, c in result.held.items()) or 'none'}"
            )
            if result.accepted:
                _retrain(s, f"Round {number}: retraining", f"entity-review-{number}", result.accepted)
            version, f1 = active_f1(s)
            say(f"  active recognizer {version}: F1 {_fmt(f1)}; {labels} answers spent so far")
            history.append(
                {
                    "round": number,
                    "streamed": len(stream),
                    "reviewed": len(items),
                    "answers": labels,
                    "version": version,
                    "f1": f1,
                }
            )
    say("\nround  analyzed  reviewed  answers  active F1")
    for row in history:
        counts = f"{row['round']:>5}  {row['streamed']:>8}  {row['reviewed']:>8}  {row['answers']:>7}"
        say(f"{counts}  {_fmt(row['f1'])}")
    first, last = history[0]["f1"] or 0.0, history[-1]["f1"] or 0.0
    careless_held = held_total.get("cal", 0) > 0 and not any(held_total.get(n) for n in ("ana", "ben"))
    say(
        f"\nDone in {time.monotonic() - started:.1f} s: F1 {_fmt(first)} → {_fmt(last)}; "
        f"careless annotator's work held: {careless_held} ({held_total})."
    )
    summary = {"rounds": history, "held": held_total, "f1_rose": last > first, "careless_held": careless_held}
    if args.report:
        folder = Path(args.report)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "entity-loop.json").write_text(json.dumps(summary, indent=2))
    return ExitCode.OK if last > first and careless_held else ExitCode.FAILED


def _entity_review(s: Session, strategy: str, threshold: float, budget: int) -> None:
    """Entity review settings in SSM (``<prefix>/entity_recognizer/review-*``), as an operator sets them."""
    import boto3

    ssm = boto3.client("ssm", region_name="us-east-1")
    prefix = f"{s.env.stack.parameter_prefix}/entity_recognizer"
    values = {"strategy": strategy, "threshold": str(threshold), "daily-budget": str(budget)}
    for key, value in values.items():
        ssm.put_parameter(Name=f"{prefix}/review-{key}", Value=value, Type="String", Overwrite=True)


def _spans(document: entitygen.Document) -> Answer:
    return _spans_of(document.spans)


def _spans_of(spans: Sequence[tuple[int, int, str]]) -> Answer:
    return [{"BeginOffset": b, "EndOffset": e, "Type": t} for b, e, t in spans]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
