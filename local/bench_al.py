"""Pool-based active-learning simulation at equal label budgets, with the local classification engine.

    python -m local.bench_al --train data/banking77/train.csv --test data/banking77/dev.csv \\
        [--seed-size N] [--batch K] [--growth G] [--rounds R] [--repeats S] \\
        [--strategies random,least_confidence,margin,entropy] [--exact-engine]

``--train`` is the unlabelled pool: its labels are revealed only for the documents a strategy sends to
review. Every strategy starts from the same seed set (stratified: one document per class in turn, so
``2 x classes`` gives two per class), then each round picks ``K`` pool documents, reveals their labels,
retrains and scores the ``--test`` set (accuracy, macro F1 over every pool label). The batch grows by
``--growth`` per round (default 2: with ``K`` = the seed size the labelled set doubles each round, so
rounds stay few and the curve covers small and large budgets). The engine is also trained once on the
whole pool: the target is 95 % of that accuracy.

Strategies (pure functions of the (n, classes) probability matrix, used on the unlabelled part of the pool):
``least_confidence`` (largest 1 - top score), ``margin`` (smallest top1 - top2), ``entropy`` (largest
entropy of the distribution), ``random``.

Engine: the real training procedure of ``local.comprehend.engines.classification`` (SVM ⊕ Complement NB,
C/weight/temperature/power chosen on a held-out split), but by default with its TF-IDF featurizer fitted
once on the pool texts and cached (features of a document are looked up, not recomputed): refitting the
character n-grams on every round and featurizing the whole pool to score it costs 5-10 s a round on 2
cores. The only difference from ``train()`` as the service runs it is that the vocabulary and IDF come from
the whole (unlabelled) pool instead of the labelled documents; the full-pool model is exactly the service's.
``--exact-engine`` runs the engine untouched (slow; for checking the proxy on a few points).

Per strategy the report gives the mean curve ``[[labels, accuracy, macro_f1], ...]`` over ``--repeats``
seeds with its spread, the labels needed to reach the target (interpolated linearly in log2(labels) between
the first round reaching it and the one before; null if never reached within the budget) and the area under
the learning curve (``auc``: trapezoid over labels, divided by the label range; ``auc_log2``: the same over
log2(labels), which weighs small budgets as much as large ones). Progress goes to stderr; the last line of
stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from scipy import sparse
from tqdm import tqdm

STRATEGIES = ("random", "least_confidence", "margin", "entropy")
TARGET_FRACTION = 0.95
DEFAULT_MAX_POOL_FRACTION = 0.6  # default --rounds: grow the labelled set up to this share of the pool


def log(message: str) -> None:
    print(f"[bench-al] {message}", file=sys.stderr, flush=True)


# --- selection strategies (pure functions) ------------------------------------------------------------
def _as_matrix(probas: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    p = np.asarray(probas, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError("probas must be a (documents, classes) matrix")
    return p


def _top(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` largest ``scores``, largest first; ties → the lower index first."""
    k = max(0, min(k, len(scores)))
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order[:k]]


def select_least_confidence(probas: Sequence[Sequence[float]] | np.ndarray, k: int) -> list[int]:
    """The ``k`` documents whose best score is lowest (largest 1 - top score)."""
    p = _as_matrix(probas)
    return _top(1.0 - p.max(axis=1), k)


def select_margin(probas: Sequence[Sequence[float]] | np.ndarray, k: int) -> list[int]:
    """The ``k`` documents with the smallest gap between their two best scores."""
    p = _as_matrix(probas)
    if p.shape[1] < 2:
        return _top(np.zeros(len(p)), k)
    two = -np.partition(-p, 1, axis=1)[:, :2]
    return _top(-(two[:, 0] - two[:, 1]), k)


def select_entropy(probas: Sequence[Sequence[float]] | np.ndarray, k: int) -> list[int]:
    """The ``k`` documents whose predicted distribution has the largest entropy."""
    p = _as_matrix(probas)
    p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
    entropy = -np.sum(np.where(p > 0, p * np.log(np.clip(p, 1e-300, None)), 0.0), axis=1)
    return _top(entropy, k)


def select_random(n: int, k: int, rng: random.Random) -> list[int]:
    """``k`` of ``range(n)`` uniformly at random."""
    return rng.sample(range(n), max(0, min(k, n)))


UNCERTAINTY: dict[str, Callable[[np.ndarray, int], list[int]]] = {
    "least_confidence": select_least_confidence,
    "margin": select_margin,
    "entropy": select_entropy,
}


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
        fitted = featurizer.fit_transform(fit_texts)
        extra = featurizer.transform(other_texts) if other_texts else None
        self.matrix = sparse.vstack([fitted, extra], format="csr") if extra is not None else fitted
        self.row: dict[str, int] = {}
        for i, text in enumerate([*fit_texts, *other_texts]):
            self.row.setdefault(text, i)

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
def run_strategy(
    strategy: str,
    engine: Engine,
    pool: tuple[list[str], list[str]],
    test: tuple[list[str], list[str]],
    seed_set: list[int],
    sizes: list[int],
    classes: list[str],
    seed: int,
    seed_point: tuple[Any, tuple[float, float]] | None = None,
) -> list[tuple[int, float, float]]:
    """One learning curve: ``[(labels, accuracy, macro_f1), ...]``, one point per size in ``sizes``."""
    texts, labels = pool
    rng = random.Random(f"{seed}:{strategy}")
    labelled = list(seed_set)
    in_labelled = np.zeros(len(texts), dtype=bool)
    in_labelled[labelled] = True
    curve: list[tuple[int, float, float]] = []
    for r, size in enumerate(sizes):
        if r == 0 and seed_point is not None:
            model, (acc, f1) = seed_point
        else:
            if r > 0:
                k = size - len(labelled)
                candidates = np.flatnonzero(~in_labelled)
                if strategy == "random":
                    picked = select_random(len(candidates), k, rng)
                else:
                    probas = model.scores([texts[i] for i in candidates])
                    picked = UNCERTAINTY[strategy](probas, k)
                new = [int(candidates[j]) for j in picked]
                labelled.extend(new)
                in_labelled[new] = True
            np.random.seed(seed)  # LinearSVC draws from numpy's global generator
            model = engine.fit([texts[i] for i in labelled], [labels[i] for i in labelled])
            acc, f1 = evaluate(model, test[0], test[1], classes)
        curve.append((len(labelled), acc, f1))
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


def area_under_curve(curve: Sequence[Sequence[float]], log_axis: bool = False) -> float:
    """Mean accuracy over the budget: trapezoid over labels (or log2 labels), divided by its range."""
    if len(curve) < 2:
        return float(curve[0][1]) if curve else 0.0
    x = np.array([math.log2(p[0]) if log_axis else float(p[0]) for p in curve])
    y = np.array([float(p[1]) for p in curve])
    width = float(x[-1] - x[0])
    if width <= 0:
        return float(y.mean())
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2) / width)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def summarise(curves: list[list[tuple[int, float, float]]], target: float) -> dict[str, Any]:
    """Mean curve with its spread, labels to target (mean curve and per repeat), AUCs, over the repeats."""
    arr = np.array(curves, dtype=np.float64)  # (repeats, rounds, 3)
    mean, std = arr.mean(axis=0), arr.std(axis=0)
    mean_curve = [[round(p[0]), round(p[1], 4), round(p[2], 4)] for p in mean]
    per_run = [labels_to_target(c, target) for c in curves]
    reached = [v for v in per_run if v is not None]
    aucs = [area_under_curve(c) for c in curves]
    aucs_log = [area_under_curve(c, log_axis=True) for c in curves]
    return {
        "labels_to_target": _round(labels_to_target(mean_curve, target), 1),
        "labels_to_target_runs": [_round(v, 1) for v in per_run],
        "labels_to_target_mean": _round(float(np.mean(reached)), 1) if len(reached) == len(per_run) else None,
        "labels_to_target_std": _round(float(np.std(reached)), 1) if len(reached) == len(per_run) else None,
        "curve": mean_curve,
        "curve_std": [[round(m[0]), round(s[1], 4), round(s[2], 4)] for m, s in zip(mean, std, strict=True)],
        "auc": round(float(np.mean(aucs)), 4),
        "auc_std": round(float(np.std(aucs)), 4),
        "auc_log2": round(float(np.mean(aucs_log)), 4),
        "auc_log2_std": round(float(np.std(aucs_log)), 4),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    pool_texts, pool_labels = read_csv(Path(args.train))
    test_texts, test_labels = read_csv(Path(args.test))
    classes = sorted(set(pool_labels))
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or not strategies:
        raise SystemExit(f"unknown strategies {unknown}; choose from {', '.join(STRATEGIES)}")
    seed_size = args.seed_size or max(20, 2 * len(classes))
    batch = args.batch or seed_size
    sizes = schedule(len(pool_texts), seed_size, batch, args.growth, args.rounds)
    log(f"pool {len(pool_texts)} documents, {len(classes)} classes; test {len(test_texts)}; labels {sizes}")

    if args.exact_engine:
        engine = Engine(None, "local classification engine, uncached (features refitted every round)")
    else:
        t0 = time.perf_counter()
        cached = CachedFeaturizer(pool_texts, test_texts)
        log(f"features cached ({cached.matrix.shape[1]} columns) in {time.perf_counter() - t0:.1f} s")
        engine = Engine(
            cached,
            "local classification engine (local.comprehend.engines.classification.train: SVM + NB blend, "
            "held-out calibration), TF-IDF featurizer fitted once on the pool texts and cached; "
            "the full-pool model is identical to the service's",
        )

    t0 = time.perf_counter()
    np.random.seed(0)
    full_model = engine.fit(pool_texts, pool_labels)
    full_acc, full_f1 = evaluate(full_model, test_texts, test_labels, classes)
    target = TARGET_FRACTION * full_acc
    log(
        f"full pool: accuracy {full_acc:.4f}, macro F1 {full_f1:.4f} ({time.perf_counter() - t0:.1f} s); "
        f"target {target:.4f}"
    )

    curves: dict[str, list[list[tuple[int, float, float]]]] = {s: [] for s in strategies}
    progress = tqdm(total=args.repeats * len(strategies), desc="learning curves", unit="curve", disable=None)
    for rep in range(args.repeats):
        seed = args.seed + rep
        seed_set = stratified_seed(pool_labels, sizes[0], random.Random(seed))
        np.random.seed(seed)
        seed_model = engine.fit([pool_texts[i] for i in seed_set], [pool_labels[i] for i in seed_set])
        seed_point = (seed_model, evaluate(seed_model, test_texts, test_labels, classes))
        for strategy in strategies:
            t1 = time.perf_counter()
            curve = run_strategy(
                strategy,
                engine,
                (pool_texts, pool_labels),
                (test_texts, test_labels),
                seed_set,
                sizes,
                classes,
                seed,
                seed_point,
            )
            curves[strategy].append(curve)
            progress.update(1)
            points = " ".join(f"{n}:{a:.3f}" for n, a, _ in curve)
            log(f"repeat {rep + 1}/{args.repeats} {strategy}: {points} ({time.perf_counter() - t1:.1f} s)")
    progress.close()

    results = {s: summarise(curves[s], target) for s in strategies}
    if "random" in results and results["random"]["labels_to_target"]:
        base = results["random"]["labels_to_target"]
        for summary in results.values():
            ltt = summary["labels_to_target"]
            summary["label_saving_vs_random"] = None if ltt is None else round(1 - ltt / base, 4)
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
        "strategies": results,
        "repeats": args.repeats,
        "seed": args.seed,
        "engine": engine.description,
        "labels_to_target_definition": "first round whose accuracy reaches the target, interpolated linearly "
        "in log2(labels) from the round before; on the mean curve (labels_to_target) and per repeat (_runs)",
        "auc_definition": "mean accuracy over the label budget: trapezoid over labels (auc) or log2 labels "
        "(auc_log2), divided by the axis range; mean over repeats",
        "seconds": round(time.perf_counter() - started, 1),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.bench_al", description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True, help="the unlabelled pool, LABEL,text CSV")
    parser.add_argument("--test", required=True, help="the test set, LABEL,text CSV")
    parser.add_argument("--seed-size", type=int, default=None, help="seed labels (default max(20, 2/class))")
    parser.add_argument("--batch", type=int, default=None, help="first batch (default: the seed size)")
    parser.add_argument("--growth", type=float, default=2.0, help="batch growth per round (default 2)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds after the seed (default: up to 60%% of the pool)"
    )
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="first random seed (repeat i uses seed + i)")
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
    report = run(parse_args(argv))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
