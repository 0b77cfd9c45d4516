"""Active learning for the entity recognizer: review selection against random sampling, at equal labels.

    python -m local.bench_al_entities --train DIR --test DIR \\
        [--pool 3000] [--seed-size 50] [--growth 2] [--rounds 5] [--repeats 3] \\
        [--strategies random,least_confidence,any_error]

Each DIR holds ``documents.txt`` and ``annotations.csv`` (Comprehend's entity-list layout). ``--train`` is
subsampled to a pool of ``--pool`` documents (the same pool for every strategy and repeat: the local CRF
trains CoNLL-2003's 14k documents in ~100 s on 2 cores, so the whole train split as a pool would make a
curve of many trainings take hours); its annotations are revealed only for the documents a strategy
selects. Every strategy of one repeat starts from the same random seed set of ``--seed-size`` documents;
each round labels ``growth`` times more documents in all (50, 100, 200, ...), chosen by the strategy among
the unlabelled ones, retrains the real engine (:func:`local.comprehend.engines.entities.train`) and scores
``--test`` (entity-level exact-match micro F1, :func:`comprehend_al.entity_metrics.evaluate_entities`).
The engine is also trained once on the whole pool: the target is 95 % of that F1.

Strategies: ``random``, and the deployed review selection itself (:mod:`comprehend_al.entity_review`:
``assess_entities`` on the model's DetectEntities-shaped output, then ``rank``): ``least_confidence``
(the document's least sure span) and ``any_error`` (the product of its span scores: documents with many
uncertain spans first). A labelled document is labelled whole (every span of it), as an annotator does.

Per strategy the report gives the mean curve ``[[documents, f1, spread], ...]`` (spread: the sample
standard deviation over repeats), the annotated spans the labelled documents hold (a document chosen for
its many uncertain spans costs an annotator more than a short one), the documents needed to reach the
target (interpolated in log2(documents); null if never reached) with the spans those documents hold
(``spans_to_target``), and the area under the curve over log2(documents). Progress goes to stderr; the last
line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from comprehend_al.datasets.entities import Annotation
from comprehend_al.entity_metrics import evaluate_entities
from comprehend_al.entity_review import EntityStrategy, assess_entities, rank

from local.comprehend.engines import entities as engine

STRATEGIES = ("random", "least_confidence", "any_error")
TARGET_FRACTION = 0.95
THRESHOLD = 1.0  # ranking only: the benchmark labels the top k, whatever the stream's threshold


def log(message: str) -> None:
    print(f"[bench-al-entities] {message}", file=sys.stderr, flush=True)


def load(folder: Path) -> tuple[list[str], list[list[Annotation]]]:
    """Documents and, per document, its spans (validated as an upload is)."""
    upload = engine.read_folder(folder)
    return list(upload.documents), upload.annotations_by_document()


def train(documents: Sequence[str], spans: Sequence[Sequence[Annotation]]) -> engine.EntityModel:
    """The engine trained on these documents (their spans re-indexed from 0)."""
    annotations = [a._replace(doc_index=i) for i, doc in enumerate(spans) for a in doc]
    return engine.train(list(documents), annotations)


def f1_on(
    model: engine.EntityModel, documents: Sequence[str], spans: Sequence[Sequence[Annotation]]
) -> float:
    gold = [a._replace(doc_index=i) for i, doc in enumerate(spans) for a in doc]
    predicted = [
        Annotation(i, e["BeginOffset"], e["EndOffset"], e["Type"])
        for i, text in enumerate(documents)
        for e in model.predict(text)
    ]
    return float(evaluate_entities(gold, predicted, documents=len(documents)).F1Score)


def select(
    strategy: str,
    model: engine.EntityModel,
    pool: Sequence[str],
    unlabelled: list[int],
    k: int,
    rng: random.Random,
) -> list[int]:
    """``k`` pool indices among ``unlabelled``: at random, or the layer's review ranking of the spans."""
    if strategy == "random":
        return rng.sample(unlabelled, min(k, len(unlabelled)))
    chosen = EntityStrategy(strategy)
    assessments = [assess_entities(model.predict(pool[i]), chosen, THRESHOLD, pool[i]) for i in unlabelled]
    return [unlabelled[j] for j in rank(assessments, k)]


def schedule(pool: int, seed_size: int, growth: float, rounds: int) -> list[int]:
    sizes = [seed_size]
    for _ in range(rounds):
        sizes.append(min(pool, max(sizes[-1] + 1, round(sizes[-1] * growth))))
    return sizes


def documents_to_reach(curve: Sequence[tuple[int, float]], target: float) -> float | None:
    """Labelled documents where the curve first reaches ``target`` (linear in log2(documents))."""
    for (n0, f0), (n1, f1) in itertools.pairwise(curve):
        if f0 >= target:
            return float(n0)
        if f1 >= target:
            x0, x1 = math.log2(n0), math.log2(n1)
            return round(2 ** (x0 + (x1 - x0) * (target - f0) / (f1 - f0)), 1)
    return float(curve[0][0]) if curve and curve[0][1] >= target else None


def spans_at(documents: float | None, points: Sequence[tuple[int, float]]) -> float | None:
    """The annotated spans at ``documents`` labelled documents (``points``: (documents, spans), linear in
    log2(documents)): what reaching the target cost an annotator in spans rather than documents."""
    if documents is None:
        return None
    for (n0, s0), (n1, s1) in itertools.pairwise(points):
        if n0 <= documents <= n1:
            x = (math.log2(documents) - math.log2(n0)) / (math.log2(n1) - math.log2(n0))
            return round(s0 + x * (s1 - s0))
    return float(points[0][1]) if points and documents <= points[0][0] else None


def auc_log2(curve: Sequence[tuple[int, float]]) -> float:
    xs = [math.log2(n) for n, _ in curve]
    area = sum((xs[i + 1] - xs[i]) * (curve[i][1] + curve[i + 1][1]) / 2 for i in range(len(curve) - 1))
    return round(area / (xs[-1] - xs[0]), 4) if len(curve) > 1 and xs[-1] > xs[0] else curve[0][1]


def run(args: argparse.Namespace) -> dict[str, Any]:
    started, cpu_started = time.perf_counter(), time.process_time()
    documents, spans = load(args.train)
    test_docs, test_spans = load(args.test)
    rng = random.Random(args.pool_seed)
    indices = sorted(rng.sample(range(len(documents)), min(args.pool, len(documents))))
    pool = [documents[i] for i in indices]
    pool_spans = [spans[i] for i in indices]
    log(f"pool {len(pool)} of {len(documents)} train documents; test {len(test_docs)} documents")
    t0 = time.perf_counter()
    full_f1 = f1_on(train(pool, pool_spans), test_docs, test_spans)
    full_seconds = time.perf_counter() - t0
    target = TARGET_FRACTION * full_f1
    log(f"whole pool: F1 {full_f1:.4f} (training + scoring {full_seconds:.0f} s); target {target:.4f}")
    sizes = schedule(len(pool), args.seed_size, args.growth, args.rounds)
    curves: dict[str, list[list[tuple[int, float, int]]]] = {s: [] for s in args.strategies}
    for repeat in range(args.repeats):
        seed = random.Random(1000 + repeat).sample(range(len(pool)), args.seed_size)
        for strategy in args.strategies:
            pick = random.Random(2000 + repeat)
            labelled = list(seed)
            model: engine.EntityModel | None = None
            points: list[tuple[int, float, int]] = []
            for round_, size in enumerate(sizes):
                if round_ > 0 and model is not None:
                    chosen = set(labelled)
                    unlabelled = [i for i in range(len(pool)) if i not in chosen]
                    labelled += select(strategy, model, pool, unlabelled, size - len(labelled), pick)
                model = train([pool[i] for i in labelled], [pool_spans[i] for i in labelled])
                f1 = f1_on(model, test_docs, test_spans)
                points.append((len(labelled), f1, sum(len(pool_spans[i]) for i in labelled)))
                log(f"repeat {repeat + 1} {strategy}: {len(labelled)} documents, F1 {f1:.4f}")
            curves[strategy].append(points)
    report: dict[str, Any] = {}
    for strategy, runs in curves.items():
        mean = [(runs[0][j][0], statistics.fmean(r[j][1] for r in runs)) for j in range(len(runs[0]))]
        report[strategy] = {
            "curve": [
                [n, round(f, 4), round(statistics.stdev(r[j][1] for r in runs), 4) if len(runs) > 1 else 0.0]
                for j, (n, f) in enumerate(mean)
            ],
            "spans": [round(statistics.fmean(r[j][2] for r in runs)) for j in range(len(runs[0]))],
            "documents_to_target": documents_to_reach(mean, target),
            "spans_to_target": spans_at(
                documents_to_reach(mean, target),
                [(runs[0][j][0], statistics.fmean(r[j][2] for r in runs)) for j in range(len(runs[0]))],
            ),
            "auc_log2": auc_log2(mean),
        }
    random_docs = report.get("random", {}).get("documents_to_target")
    best = max((s for s in report if s != "random"), key=lambda s: report[s]["auc_log2"], default=None)
    best_docs = report[best]["documents_to_target"] if best else None
    return {
        "benchmark": "bench_al_entities",
        "train": str(args.train),
        "test": str(args.test),
        "pool": len(pool),
        "test_documents": len(test_docs),
        "repeats": args.repeats,
        "seed_size": args.seed_size,
        "full_pool_f1": round(full_f1, 4),
        "target_f1": round(target, 4),
        "strategies": report,
        "best": best,
        "best_vs_random_documents": (
            round(best_docs / random_docs, 3) if best_docs and random_docs else None
        ),
        "best_vs_random_spans": (
            round(report[best]["spans_to_target"] / report["random"]["spans_to_target"], 3)
            if best
            and report[best].get("spans_to_target")
            and report.get("random", {}).get("spans_to_target")
            else None
        ),
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--train", type=Path, required=True, help="folder with documents.txt + annotations.csv"
    )
    parser.add_argument(
        "--test", type=Path, required=True, help="folder with documents.txt + annotations.csv"
    )
    parser.add_argument(
        "--pool", type=int, default=3000, help="train documents in the pool (default: %(default)s)"
    )
    parser.add_argument("--pool-seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--seed-size", type=int, default=50, help="first labelled documents (default: %(default)s)"
    )
    parser.add_argument(
        "--growth", type=float, default=2.0, help="labelled set growth per round (default: %(default)s)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="selection rounds (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="seeds (default: %(default)s)")
    parser.add_argument(
        "--strategies",
        type=lambda v: [s.strip() for s in v.split(",") if s.strip()],
        default=list(STRATEGIES),
        help="comma-separated, of: " + ", ".join(STRATEGIES),
    )
    args = parser.parse_args(argv)
    unknown = [s for s in args.strategies if s not in STRATEGIES]
    if unknown:
        parser.error(f"unknown strategies {unknown}; choose from {', '.join(STRATEGIES)}")
    for folder in (args.train, args.test):
        for name in ("documents.txt", "annotations.csv"):
            if not (folder / name).is_file():
                parser.error(f"{folder / name} does not exist")
    sys.stdout.write(json.dumps(run(args)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
