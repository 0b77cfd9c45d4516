"""Active learning at equal label budgets: the deployed review selection against random sampling.

    python -m local.bench_al --train data/banking77/train.csv --test data/banking77/dev.csv \\
        [--seed-size N] [--batch K] [--growth G] [--rounds R] [--repeats S] [--full-curves] \\
        [--strategies random,margin,margin_clusters,badge] [--exact-engine]
    python -m local.bench_al --kind entities ...   # the recognizer's benchmark (local.bench_al_entities)

``--train`` is the unlabelled pool: its labels are revealed only for the documents a strategy sends to
review. Every strategy starts from the same seed set (stratified: one document per class in turn, so
``2 x classes`` gives two per class). Then each round is one day of the deployed path: the model scores
the unlabelled pool (the day's traffic), the predictions the review policy's threshold would queue are
kept (:func:`comprehend_al.review.assess`), and :func:`comprehend_al.batch_selection.queue_and_select`,
the code the ``SelectReview`` function runs, picks the day's budget ``K`` (default: the seed size) among
them; their labels are revealed, the engine retrains and scores the ``--test`` set (accuracy, macro F1).
``--growth G`` multiplies the budget each round (default 1: a fixed daily budget). A curve stops at the
first round reaching the target (``--full-curves``: every round, up to 60 % of the pool). The engine is
also trained once on the whole pool: the target is 95 % of that accuracy.

Strategies: ``random``, every :class:`comprehend_al.review.Strategy` (``margin``, ``least_confidence``,
``entropy``: one at a time; ``margin_clusters``, ``badge``: batch diversity with hashed text vectors) and
``<strategy>@scores`` for the two batch strategies with the scores vector as the representation instead.
Each strategy uses its default review threshold (``comprehend_al.review.DEFAULT_THRESHOLDS``).

Engine: the real training procedure of ``local.comprehend.engines.classification`` (sparse SVM ⊕ NB blend
with the sentence-embedding heads, chosen and calibrated on a held-out split), with its TF-IDF featurizer
fitted once on the pool texts and cached (features of a document are looked up, not recomputed; the
sentence embeddings are cached per text by the engine itself). The only difference from ``train()`` as the
service runs it is that the TF-IDF vocabulary and IDF come from the whole (unlabelled) pool instead of the
labelled documents; the full-pool model, hence the target, is exactly the service's. ``--exact-engine``
runs the engine untouched (slow; for checking the proxy on a few points).

Per strategy the report gives the labels needed to reach the target per repeat (interpolated linearly in
log2(labels) between the first round reaching it and the one before; null if never reached), their mean
and spread, the ratio to random's (paired by repeat: same seed set) with its mean and spread, and the mean
curve over the rounds every repeat ran. Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import multiprocessing
import random
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from comprehend_al import batch_selection, review
from scipy import sparse

DEFAULT_STRATEGIES = ("random", "margin", "margin_clusters", "badge")
TARGET_FRACTION = 0.95
DEFAULT_MAX_POOL_FRACTION = 0.6  # default --rounds: grow the labelled set up to this share of the pool


def log(message: str) -> None:
    print(f"[bench-al] {message}", file=sys.stderr, flush=True)


# --- selection: the deployed path's module ---------------------------------------------------------------
def select_random(n: int, k: int, rng: random.Random) -> list[int]:
    """``k`` of ``range(n)`` uniformly at random."""
    return rng.sample(range(n), max(0, min(k, n)))


def strategy_names() -> list[str]:
    """``random``, every :class:`batch_selection.Strategy`, and ``<strategy>@scores`` (scores as vectors)."""
    names = [s.value for s in review.Strategy]
    return ["random", *names, *(f"{n}@scores" for n in names if n in SPATIAL)]


SPATIAL = {review.Strategy.MARGIN_CLUSTERS.value, review.Strategy.BADGE.value}


# --- data, schedule, seed set ---------------------------------------------------------------------------
def read_csv(path: Path) -> tuple[list[str], list[str]]:
    from local.comprehend.classifier import parse_training_csv

    texts, labels = parse_training_csv(path.read_bytes(), multi_label=False, delimiter="|", source=str(path))
    return texts, [ls[0] for ls in labels]


def schedule(pool_size: int, seed_size: int, batch: int, growth: float, rounds: int | None) -> list[int]:
    """Labelled-set sizes after the seed and after each round (batch ``batch * growth^r``), within the pool.

    ``rounds=None``: as many rounds as keep the labelled set within 60 % of the pool (at least one)."""
    sizes = [min(seed_size, pool_size)]
    step = float(batch)
    limit = max(seed_size + batch, int(DEFAULT_MAX_POOL_FRACTION * pool_size))
    while sizes[-1] < pool_size:
        if rounds is not None and len(sizes) > rounds:
            break
        nxt = min(pool_size, sizes[-1] + max(1, round(step)))
        if rounds is None and nxt > limit and len(sizes) > 1:
            break
        sizes.append(nxt)
        step *= growth
    return sizes


def stratified_seed(labels: Sequence[str], size: int, rng: random.Random) -> list[int]:
    """``size`` pool indices, one per class in turn (classes in random order, documents at random)."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    queues = []
    for label in sorted(by_label):
        idx = by_label[label][:]
        rng.shuffle(idx)
        queues.append(idx)
    rng.shuffle(queues)
    chosen: list[int] = []
    while len(chosen) < min(size, len(labels)):
        for queue in queues:
            if queue and len(chosen) < size:
                chosen.append(queue.pop())
    return chosen


# --- the engine, with cached features -------------------------------------------------------------------
class CachedFeaturizer:
    """The engine's featurizer fitted once on the pool; documents' features are looked up by text."""

    def __init__(self, fit_texts: list[str], other_texts: list[str]) -> None:
        from local.comprehend.engines.classification import Featurizer

        featurizer = Featurizer()
        self.featurizer = featurizer
        fitted = featurizer.fit_transform(fit_texts)
        extra = featurizer.transform(other_texts) if other_texts else None
        self.matrix = sparse.vstack([fitted, extra], format="csr") if extra is not None else fitted
        self.row: dict[str, int] = {}
        for i, text in enumerate([*fit_texts, *other_texts]):
            self.row.setdefault(text, i)

    def __getattr__(self, name: str) -> Any:  # anything else the engine reads (e.g. ``word_features``)
        return getattr(self.__dict__["featurizer"], name)

    def fit_transform(self, texts: list[str]) -> sparse.csr_matrix:
        return self.transform(texts)

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        return self.matrix[[self.row[t] for t in texts]]


@dataclass
class Engine:
    """``fit(texts, labels) -> model`` with ``model.labels`` and ``model.scores(texts)`` (the engine API)."""

    cached: CachedFeaturizer | None
    description: str

    def fit(self, texts: list[str], labels: list[str]) -> Any:
        from local.comprehend.engines import classification

        if self.cached is None:
            return classification.train(texts, [[label] for label in labels], multi_label=False)
        cached = self.cached
        with _patched_featurizer(classification, cached):
            model = classification.train(texts, [[label] for label in labels], multi_label=False)
        if model.featurizer is not cached:  # the engine changed how it builds its features: run it as is
            log("the engine did not use the cached features: running it uncached from now on")
            self.cached = None
            self.description = "local classification engine, uncached (features refitted every round)"
        return model


@contextmanager
def _patched_featurizer(module: Any, cached: CachedFeaturizer) -> Iterator[None]:
    with mock.patch.object(module, "Featurizer", lambda: cached):
        yield


def evaluate(model: Any, texts: list[str], truth: list[str], classes: list[str]) -> tuple[float, float]:
    from sklearn.metrics import f1_score

    scores = model.scores(texts)
    predicted = [model.labels[j] for j in np.asarray(scores).argmax(axis=1)]
    accuracy = float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)]))
    macro = float(f1_score(truth, predicted, labels=classes, average="macro", zero_division=0))
    return accuracy, macro


# --- the simulation -------------------------------------------------------------------------------------
@dataclass
class Simulation:
    """What every learning curve shares: the engine, pool and test set, the label schedule, the target."""

    engine: Engine
    pool: tuple[list[str], list[str]]
    test: tuple[list[str], list[str]]
    sizes: list[int]
    classes: list[str]
    target: float | None = None  # stop a curve at the first round reaching it (None: run every round)
    vectors: batch_selection.TextVectors = field(default_factory=batch_selection.TextVectors)
    thresholds: dict[str, float] = field(default_factory=dict)  # the buffer's filter (default: the policy's)
    seed_set: str = "stratified"  # how the first labels are chosen (first_labels)


def pick(
    sim: Simulation, strategy: str, model: Any, candidates: np.ndarray, k: int, rng: random.Random, seed: int
) -> list[int]:
    """Positions in ``candidates`` to label next: random, or the deployed path's :func:`select`."""
    if strategy == "random":
        return select_random(len(candidates), k, rng)
    name, _, space = strategy.partition("@")
    texts = [sim.pool[0][i] for i in candidates]
    probas = np.asarray(model.scores(texts))
    strategy_ = review.Strategy(name)
    threshold = sim.thresholds.get(name, review.DEFAULT_THRESHOLDS[strategy_])
    policy = review.ReviewPolicy(strategy_, threshold, k)
    return batch_selection.queue_and_select(
        probas, texts, policy, vectors=sim.vectors, seed=seed, by_scores=space == "scores"
    )


def run_strategy(
    sim: Simulation,
    strategy: str,
    seed_set: list[int],
    seed: int,
    seed_point: tuple[Any, tuple[float, float]] | None = None,
) -> list[tuple[int, float, float]]:
    """One learning curve: ``[(labels, accuracy, macro_f1), ...]``, one point per size in ``sim.sizes``
    (fewer when it reaches ``sim.target``: the curve stops there)."""
    texts, labels = sim.pool
    rng = random.Random(f"{seed}:{strategy}")
    labelled = list(seed_set)
    in_labelled = np.zeros(len(texts), dtype=bool)
    in_labelled[labelled] = True
    curve: list[tuple[int, float, float]] = []
    for r, size in enumerate(sim.sizes):
        if r == 0 and seed_point is not None:
            model, (acc, f1) = seed_point
        else:
            if r > 0:
                candidates = np.flatnonzero(~in_labelled)
                picked = pick(sim, strategy, model, candidates, size - len(labelled), rng, seed * 1000 + r)
                new = [int(candidates[j]) for j in picked]
                labelled.extend(new)
                in_labelled[new] = True
            np.random.seed(seed)  # LinearSVC draws from numpy's global generator
            model = sim.engine.fit([texts[i] for i in labelled], [labels[i] for i in labelled])
            acc, f1 = evaluate(model, sim.test[0], sim.test[1], sim.classes)
        curve.append((len(labelled), acc, f1))
        if sim.target is not None and acc >= sim.target:
            break
    return curve


def labels_to_target(curve: Sequence[Sequence[float]], target: float, log_axis: bool = True) -> float | None:
    """Labels at which ``curve`` first reaches ``target``, interpolated between that round and the one before.

    Linear in log2(labels) by default: learning curves are close to straight lines on that axis, and on a
    doubling schedule a linear interpolation in labels would overstate the labels needed."""
    for i, point in enumerate(curve):
        labels, acc = float(point[0]), float(point[1])
        if acc >= target:
            if i == 0:
                return labels
            prev_labels, prev_acc = float(curve[i - 1][0]), float(curve[i - 1][1])
            if acc == prev_acc:
                return labels
            frac = (target - prev_acc) / (acc - prev_acc)
            if log_axis:
                return float(
                    2 ** (math.log2(prev_labels) + frac * (math.log2(labels) - math.log2(prev_labels)))
                )
            return prev_labels + frac * (labels - prev_labels)
    return None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def summarise(curves: list[list[tuple[int, float, float]]], target: float) -> dict[str, Any]:
    """Labels to target per repeat with mean and spread; the mean curve over the rounds every repeat ran."""
    common = min(len(c) for c in curves)
    arr = np.array([c[:common] for c in curves], dtype=np.float64)  # (repeats, rounds, 3)
    mean, std = arr.mean(axis=0), arr.std(axis=0)
    per_run = [labels_to_target(c, target) for c in curves]
    reached = [v for v in per_run if v is not None]
    complete = len(reached) == len(per_run)
    return {
        "labels_to_target_mean": _round(float(np.mean(reached)), 1) if complete else None,
        "labels_to_target_std": _round(float(np.std(reached)), 1) if complete else None,
        "labels_to_target_runs": [_round(v, 1) for v in per_run],
        "curve": [[round(p[0]), round(p[1], 4), round(p[2], 4)] for p in mean],
        "curve_std": [[round(m[0]), round(s[1], 4), round(s[2], 4)] for m, s in zip(mean, std, strict=True)],
        "curves": [[[n, round(a, 4)] for n, a, _ in c] for c in curves],
    }


def compare_to_random(results: dict[str, dict[str, Any]]) -> None:
    """Each strategy's labels to target over random's, per repeat (same seed set): mean and spread."""
    base = results.get("random", {}).get("labels_to_target_runs")
    for summary in results.values():
        runs = summary["labels_to_target_runs"]
        ratios = [a / b for a, b in zip(runs, base or [], strict=False) if a is not None and b]
        ok = bool(base) and len(ratios) == len(runs)
        summary["ratio_to_random_runs"] = [round(r, 4) for r in ratios] if ok else None
        summary["ratio_to_random_mean"] = round(float(np.mean(ratios)), 4) if ok else None
        summary["ratio_to_random_std"] = round(float(np.std(ratios)), 4) if ok else None


def make_engine(args: argparse.Namespace, pool_texts: list[str], test_texts: list[str]) -> Engine:
    if args.exact_engine:
        return Engine(None, "local classification engine, uncached (features refitted every round)")
    t0 = time.perf_counter()
    cached = CachedFeaturizer(pool_texts, test_texts)
    log(f"features cached ({cached.matrix.shape[1]} columns) in {time.perf_counter() - t0:.1f} s")
    return Engine(
        cached,
        "local classification engine (local.comprehend.engines.classification.train: sparse SVM + NB blend "
        "with sentence-embedding heads, held-out calibration), its TF-IDF featurizer fitted once on the pool "
        "texts and cached (embeddings are cached per text by the engine); the full-pool model is the "
        "service's",
    )


_SIM: Simulation | None = None


def run_repeat(
    sim: Simulation, strategies: list[str], seed: int
) -> dict[str, list[tuple[int, float, float]]]:
    """One repeat: every strategy's curve from the same seed set."""
    texts, labels = sim.pool
    seed_set = first_labels(sim, seed)
    np.random.seed(seed)
    seed_model = sim.engine.fit([texts[i] for i in seed_set], [labels[i] for i in seed_set])
    seed_point = (seed_model, evaluate(seed_model, sim.test[0], sim.test[1], sim.classes))
    curves = {}
    for strategy in strategies:
        t1 = time.perf_counter()
        curves[strategy] = run_strategy(sim, strategy, seed_set, seed, seed_point)
        points = " ".join(f"{n}:{a:.3f}" for n, a, _ in curves[strategy])
        log(f"seed {seed} {strategy}: {points} ({time.perf_counter() - t1:.1f} s)")
    return curves


def first_labels(sim: Simulation, seed: int) -> list[int]:
    """The seed set: ``stratified`` (one per class in turn: knows the labels, as the same start for every
    strategy), ``random``, or ``cold_start`` (cluster representatives, as before any model exists)."""
    texts, labels = sim.pool
    size = sim.sizes[0]
    if sim.seed_set == "random":
        return random.Random(seed).sample(range(len(texts)), size)
    if sim.seed_set == "cold_start":
        return batch_selection.cold_start(texts, size, vectors=sim.vectors, seed=seed)
    return stratified_seed(labels, size, random.Random(seed))


def _run_forked(job: tuple[list[str], int]) -> dict[str, list[tuple[int, float, float]]]:
    assert _SIM is not None
    return run_repeat(_SIM, *job)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(usage.ru_utime + usage.ru_stime)


def run(args: argparse.Namespace) -> dict[str, Any]:
    started, cpu = time.perf_counter(), time.process_time()
    pool_texts, pool_labels = read_csv(Path(args.train))
    test_texts, test_labels = read_csv(Path(args.test))
    classes = sorted(set(pool_labels))
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in strategy_names()]
    if unknown or not strategies:
        raise SystemExit(f"unknown strategies {unknown}; choose from {', '.join(strategy_names())}")
    seed_size = args.seed_size or max(20, 2 * len(classes))
    batch = args.batch or seed_size
    sizes = schedule(len(pool_texts), seed_size, batch, args.growth, args.rounds)
    log(f"pool {len(pool_texts)} documents, {len(classes)} classes; test {len(test_texts)}; labels {sizes}")
    engine = make_engine(args, pool_texts, test_texts)

    t0 = time.perf_counter()
    np.random.seed(0)
    full_model = engine.fit(pool_texts, pool_labels)
    full_acc, full_f1 = evaluate(full_model, test_texts, test_labels, classes)
    target = TARGET_FRACTION * full_acc
    log(
        f"full pool: accuracy {full_acc:.4f}, macro F1 {full_f1:.4f} ({time.perf_counter() - t0:.1f} s); "
        f"target {target:.4f}"
    )
    sim = Simulation(
        engine,
        (pool_texts, pool_labels),
        (test_texts, test_labels),
        sizes,
        classes,
        None if args.full_curves else target,
        seed_set=args.seed_set,
    )

    curves: dict[str, list[list[tuple[int, float, float]]]] = {s: [] for s in strategies}
    jobs = max(1, min(args.jobs, args.repeats))
    if jobs == 1:
        done = [run_repeat(sim, strategies, args.seed + rep) for rep in range(args.repeats)]
    else:  # forked after the full fit: the workers share its cached features and embeddings
        global _SIM  # handed to the forked workers
        _SIM = sim
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            done = list(pool.map(_run_forked, [(strategies, args.seed + r) for r in range(args.repeats)]))
    for repeat in done:
        for strategy in strategies:
            curves[strategy].append(repeat[strategy])

    results = {s: summarise(curves[s], target) for s in strategies}
    compare_to_random(results)
    ranked = [s for s in strategies if s != "random" and results[s]["ratio_to_random_mean"] is not None]
    best = min(ranked, key=lambda s: results[s]["ratio_to_random_mean"], default=None)
    return {
        "train": str(args.train),
        "test": str(args.test),
        "pool_size": len(pool_texts),
        "test_size": len(test_texts),
        "classes": len(classes),
        "full_data_accuracy": round(full_acc, 4),
        "full_data_macro_f1": round(full_f1, 4),
        "target_fraction": TARGET_FRACTION,
        "target": round(target, 4),
        "schedule": sizes,
        "best": best,
        "best_ratio_to_random_mean": results[best]["ratio_to_random_mean"] if best else None,
        "best_ratio_to_random_std": results[best]["ratio_to_random_std"] if best else None,
        "labels_to_target": {s: results[s]["labels_to_target_mean"] for s in strategies},
        "labels_to_target_std": {s: results[s]["labels_to_target_std"] for s in strategies},
        "ratio_to_random": {s: results[s]["ratio_to_random_mean"] for s in strategies},
        "ratio_to_random_std": {s: results[s]["ratio_to_random_std"] for s in strategies},
        "strategies": results,
        "repeats": args.repeats,
        "seed": args.seed,
        "seed_set": args.seed_set,
        "engine": engine.description,
        "labels_to_target_definition": "per repeat: the first round whose accuracy reaches the target, "
        "interpolated linearly in log2(labels) from the round before; mean and std over the repeats; the "
        "ratio to random pairs repeats with the same seed set",
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu + _children_cpu(), 1),  # with --jobs' workers
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.bench_al", description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True, help="the unlabelled pool, LABEL,text CSV")
    parser.add_argument("--test", required=True, help="the test set, LABEL,text CSV")
    parser.add_argument("--seed-size", type=int, default=None, help="seed labels (default max(20, 2/class))")
    parser.add_argument(
        "--batch", type=int, default=None, help="labels per round, the daily budget (default: the seed size)"
    )
    parser.add_argument("--growth", type=float, default=1.0, help="batch growth per round (default 1)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds after the seed (default: up to 60%% of the pool)"
    )
    parser.add_argument("--strategies", default=",".join(DEFAULT_STRATEGIES))
    parser.add_argument("--repeats", type=int, default=5, help="seed sets (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="first random seed (repeat i uses seed + i)")
    parser.add_argument("--jobs", type=int, default=1, help="repeats run side by side in this many processes")
    parser.add_argument(
        "--seed-set",
        choices=("stratified", "random", "cold_start"),
        default="stratified",
        help="the first labels: one per class in turn (default), at random, or cluster representatives",
    )
    parser.add_argument(
        "--full-curves", action="store_true", help="run every round (default: a curve stops at the target)"
    )
    parser.add_argument(
        "--exact-engine", action="store_true", help="run the engine uncached, as the service does (slow)"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or (args.seed_size is not None and args.seed_size < 2) or args.growth < 1:
        parser.error("--repeats ≥ 1, --seed-size ≥ 2 and --growth ≥ 1 are required")
    if (args.batch is not None and args.batch < 1) or (args.rounds is not None and args.rounds < 1):
        parser.error("--batch and --rounds must be ≥ 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """``--kind entities``: the recognizer's benchmark (``local.bench_al_entities``); else this one."""
    kinds = argparse.ArgumentParser(add_help=False)
    kinds.add_argument("--kind", choices=("classifier", "entities"), default="classifier")
    known, rest = kinds.parse_known_args(sys.argv[1:] if argv is None else list(argv))
    if known.kind == "entities":
        entities = importlib.import_module("local.bench_al_entities")
        return int(entities.main(rest))
    report = run(parse_args(rest))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
