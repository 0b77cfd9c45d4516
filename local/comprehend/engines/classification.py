"""The document-classification engine behind the local Comprehend service.

Features: word (1-2)-gram TF-IDF ⊕ character (2-5)-gram TF-IDF (``char_wb``), both sublinear.

Multi-class: a one-vs-rest linear SVM (``LinearSVC``) blended with a Complement Naive Bayes model on the
same features, then calibrated. Everything is chosen on a stratified ~10 % split of the training data,
then the model is refitted on all of it:

* the SVM's ``C`` ∈ {0.3, 0.6} (news prefers 0.3, short intents 0.6; the two fits run side by side);
* ``p_svm = softmax(T · margins)``, the temperature ``T`` minimising the held-out log-loss;
* ``p = (1 - w) · p_svm + w · p_nb``, ``w`` ∈ {0, .15, .3, .45} maximising held-out accuracy (ties →
  the first);
* sentence embeddings (when the encoders are prepared, see ``encoders.py``): one multinomial logistic
  regression on the encoders' embeddings side by side (USE always; on short documents MiniLM-L6, else the
  static token table distilled from it), its ``C`` ∈ {1, 20} minimising the held-out log-loss, blended with
  ``p`` as a weighted geometric mean, the weight on a 0.1 grid minimising held-out log-loss;
* then a power ``p^τ`` (renormalised) minimising the held-out log-loss;
* novelty: scores fade toward 1/K for documents less similar to every label's centroid (USE space, else the
  word TF-IDF space) than 98 % of the training documents are (see :class:`Novelty`). The ranking is kept,
  so accuracy is unchanged; "hi there" on a support-ticket model drops from ~1.0 to ~0.3.

Embeddings are cached per text (``encoders.Encoder.encode``): retraining on data that grew encodes only
the new documents. Without the encoders (not prepared, onnxruntime missing, ``COMPREHEND_ENCODERS=none``)
the engine logs why and trains the sparse model alone.

Measured on ``shared/data`` (train → dev, ``python -m local.bench``), sparse model alone: AG News 0.870
(plain TF-IDF + logistic regression 0.853), BANKING77 0.905 (0.855), training 7-14 s / 9-30 s depending on
the machine's load; with the embeddings (``make bench``, 2 quiet cores, every request paying its own
encoding): AG News 0.886 (USE ⊕ static table; USE alone 0.884), BANKING77 0.930 (USE ⊕ MiniLM-L6), ECE 0.028
/ 0.025, off-topic texts' mean top score 0.27 (4 labels) / 0.05 (77 labels). First training, nothing cached:
11 s (19 s CPU) / 24-27 s (43-49 s CPU, MiniLM-L6 ~20 s of it, USE ~5 s, the three SVM fits ~8 s, the two
dense fits ~4 s); retraining on the same data, embeddings cached: 5-6 s / 9-10 s. A request through boto3 and
HTTP: p50 4.5-6.8 / 4.3-6.6 ms, p99 8.2-11.6 / 8.4-13.0 ms, 5-10 ms of CPU (client and service; MiniLM-L6
~3 ms of it for a median BANKING77 text, USE ~1.5 ms beside it); the ranges are the shared machine's quiet and
slow phases, the same code.
The SVM trains ~5x faster than a logistic regression on these features for the same accuracy, and the
fitted temperature makes its scores as well calibrated (expected calibration error ~0.03 on both dev sets).
``CalibratedClassifierCV`` was avoided: 3-5x the training time, and it fails on labels with < 3 examples.
Small data (< 20 held-out documents) keeps default calibration.

Small, unbalanced multi-class data (no held-out split, i.e. up to ~200 documents, and a label with more
than 1.5x the documents of another): the per-label SVM intercepts mostly encode the label counts of the
sample (with few documents the weights stay small), so one label wins almost everywhere. They are replaced
by their mean, i.e. a uniform prior, which suits labels picked by active learning (their counts say what
was selected, not how common a label is). AG News dev, 5 seeds, 20/80/160 documents with half of them
drawn 4:1 from two labels: accuracy 0.25/0.29/0.37 → 0.36/0.55/0.66; balanced samples and random
BANKING77 samples (100/300) within ±0.013. ``class_weight="balanced"`` was tried first and helps little
(40 documents, 16:4 extra: 0.26 → 0.30; equal intercepts 0.47): it reweights each one-vs-rest problem's
positives but the negatives still outnumber them, so the intercepts keep most of the sample's prior.
Larger data is unchanged.

Multi-label: one ``LinearSVC`` per label, scores ``sigmoid(a · margin + b)`` with ``a, b`` fitted on the
held-out split (pooled over labels, Platt scaling with smoothed targets); a label is predicted when its
score is ≥ 0.5.

Real time: :meth:`ClassifierModel.scores` of a single document skips scikit-learn's per-call overhead
(see :meth:`Featurizer.transform_one`): ~0.5-2 ms per document instead of 3-14 ms, and runs its ONNX
encoders side by side (USE ~2 ms, MiniLM-L6 ~3.4 ms of CPU for a BANKING77 request; the static table
~0.1 ms): on two free cores a request waits for the slower encoder, not for both.
"""

from __future__ import annotations

import itertools
import logging
import math
import pickle
import random
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import minimize, minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from local.comprehend.engines import encoders as encoding

LOG = logging.getLogger("local.comprehend.engines.classification")
FORMAT_VERSION = 1
MULTI_LABEL_THRESHOLD = 0.5
SVM_C = 0.3
SVM_C_GRID = (0.3, 0.6)  # chosen on the held-out split: news prefers 0.3, short intents 0.5-0.6
BLEND_WEIGHTS = (0.0, 0.15, 0.3, 0.45)
DEFAULT_TEMPERATURE = 2.5  # typical fitted value on real data, used when there is no held-out split
TEMPERATURE_BOUNDS = (0.3, 15.0)
PLATT_SLOPE_BOUNDS = (0.5, 8.0)
MIN_CALIBRATION_DOCS = 20  # fewer held-out documents than this: keep the default calibration
UNBALANCED_RATIO = 1.5  # uncalibrated multi-class data whose largest label has > 1.5x the smallest's docs
# Sentence encoders blended with the sparse model (see encoders.py). USE always: cheap (~1 ms a document),
# multilingual, and on small data the largest gain (40 generated tickets: sparse 0.77, + USE 0.90). The static
# table: a lookup, and on news the blend's lift (AG News + USE 0.884 → + static 0.889; its held-out weight is
# 0.2); beside MiniLM-L6, which it is distilled from, it adds nothing (BANKING77: weight 0) and is left out.
# MiniLM-L6 costs ~4x USE per document (~2 ms CPU for a short one) and grows with length: it is used on short
# documents only (median ≤ 160 characters; intents: BANKING77 + USE 0.913 → + MiniLM 0.929; MiniLM-L3
# instead: 0.923 at half the cost), whatever their number. It was once kept for 2,000 documents and more, to
# save encoding time, but on small sets that time is small (~1 s CPU per 500 short documents, once: embeddings
# are cached) and the lift is largest, and small sets are where active learning works (BANKING77, labels to
# 95 % of full-data accuracy at 100 reviews a day: random 2,052 → 1,879, margin_clusters 1,370 → 908).
ENCODERS = ("use", "static-l6", "minilm-l6")
SHORT_ENCODERS = frozenset({"minilm-l6"})
SHORT_DOCUMENT_CHARS = 160  # median length up to which SHORT_ENCODERS are used
# logistic regression on embeddings: C chosen on the held-out log-loss (BANKING77, 9k documents and 77
# labels: 20; AG News, tweets: 1), each fitted from zero (warm-started from another C, L-BFGS stops at
# once: the regularisation's share of the gradient is below its tolerance)
DENSE_C_GRID = (1.0, 20.0)
DENSE_MAX_ITER = 100  # L-BFGS iterations (BANKING77 converges in ~65); a warm-started refit needs fewer
DENSE_REFIT_ITER = 40
DENSE_WEIGHT_STEP = 0.1
NOVELTY_QUANTILE = 0.02  # in-domain documents less similar than this share of held-out ones start to fade
NOVELTY_POWER = 2.0


_SIDE_POOL: list[ThreadPoolExecutor] = []
_SIDE_LOCK = threading.Lock()


def _side_pool() -> ThreadPoolExecutor:
    """Threads that encode one document with a second encoder while the caller runs the first."""
    with _SIDE_LOCK:
        if not _SIDE_POOL:
            _SIDE_POOL.append(ThreadPoolExecutor(2, thread_name_prefix="classify-encode"))
        return _SIDE_POOL[0]


class Featurizer:
    """word (1-2) + char_wb (2-5) TF-IDF, fitted once on the training texts."""

    def __init__(self) -> None:
        self.word = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b", dtype=np.float32
        )
        self.char = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, dtype=np.float32
        )
        self._fast: list[tuple[Any, dict[str, int], np.ndarray, int]] | None = None

    def fit_transform(self, texts: list[str]) -> sparse.csr_matrix:
        try:
            chars = self.char.fit_transform(texts)
        except ValueError:  # tiny corpora: no character n-gram occurs twice
            self.char.set_params(min_df=1)
            chars = self.char.fit_transform(texts)
        return sparse.hstack([self.word.fit_transform(texts), chars], format="csr")

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        return sparse.hstack([self.word.transform(texts), self.char.transform(texts)], format="csr")

    @property
    def word_features(self) -> int:
        """The word n-grams come first in the feature vector: this many columns."""
        return len(self.word.vocabulary_)

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One document as (feature indices, TF-IDF values): what ``transform`` computes, without the
        per-call overhead of scikit-learn and scipy (~2 ms idle, 10+ ms on a busy machine), for real time."""
        if self._fast is None:
            self._fast = [
                (vec.build_analyzer(), vec.vocabulary_, vec.idf_.astype(np.float64), offset)
                for vec, offset in ((self.word, 0), (self.char, len(self.word.vocabulary_)))
            ]
        indices: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for analyze, vocabulary, idf, offset in self._fast:
            counts: dict[int, int] = {}
            for term in analyze(text):
                j = vocabulary.get(term)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            val = (1.0 + np.log(tf)) * idf[idx]
            norm = float(np.sqrt(np.dot(val, val)))
            indices.append(idx + offset)
            values.append(val / norm if norm > 0 else val)
        if not indices:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(indices), np.concatenate(values)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_fast"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._fast = None


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


def _nll(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))


def _power_normalise(p: np.ndarray, tau: float) -> np.ndarray:
    logp = tau * np.log(np.clip(p, 1e-12, None))
    return _softmax(logp)


def _log_blend(parts: list[np.ndarray], weights: list[float] | tuple[float, ...]) -> np.ndarray:
    """Weighted geometric mean of probability matrices, renormalised (a product of experts)."""
    total = sum(weights)
    logp = sum(w / total * np.log(np.clip(q, 1e-12, None)) for w, q in zip(weights, parts, strict=True))
    return _softmax(np.asarray(logp))


def _normalise_rows(x: Any) -> Any:
    """Rows scaled to unit L2 norm (sparse stays sparse); zero rows stay zero."""
    if sparse.issparse(x):
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        return sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ x
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _split(labels: list[list[str]], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Stratified (by first label) split: indices (train, held_out); labels with < 5 docs stay in train."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, ls in enumerate(labels):
        by_label[ls[0] if ls else ""].append(i)
    rng = random.Random(seed)
    train: list[int] = []
    held: list[int] = []
    for key in sorted(by_label):
        idx = by_label[key][:]
        rng.shuffle(idx)
        n_held = max(1, round(len(idx) * fraction)) if len(idx) >= 5 else 0
        held.extend(idx[:n_held])
        train.extend(idx[n_held:])
    return sorted(train), sorted(held)


@dataclass
class DenseHead:
    """Multinomial logistic regression on the concatenated sentence embeddings of ``encoders``."""

    encoders: tuple[str, ...]
    coef: np.ndarray  # (n_labels, sum of the encoders' dimensions) float32
    intercept: np.ndarray  # (n_labels,)

    def features(self, vectors: dict[str, np.ndarray]) -> np.ndarray | None:
        """The head's input: its encoders' rows side by side (``None`` when one of them is missing)."""
        if any(name not in vectors for name in self.encoders):
            return None
        return np.hstack([vectors[name] for name in self.encoders])

    def proba(self, features: np.ndarray) -> np.ndarray:
        return _softmax(np.asarray(features @ self.coef.T, dtype=np.float64) + self.intercept)


@dataclass
class Novelty:
    """How far a document lies from the training data, and how much its scores fade for it.

    ``similarity``: the best cosine similarity of the document to a label centroid, in the space of
    ``encoder`` (the word TF-IDF features when ``encoder`` is ``""``). ``threshold``: the NOVELTY_QUANTILE
    quantile of the training documents' own similarities (each to its label's centroid without itself, so
    that small data is not flattered). A document below it gets ``(1 - f) · p + f / K`` with
    ``f = 1 - (similarity / threshold) ** NOVELTY_POWER``: the ranking is kept, the top score falls
    toward 1/K.
    """

    encoder: str
    centroids: Any  # (n_labels, dim): dense float32, or a CSC matrix over the word features
    threshold: float

    def similarity(self, vectors: Any) -> np.ndarray:
        sims = vectors @ self.centroids.T
        sims = sims.toarray() if sparse.issparse(sims) else np.asarray(sims)
        return np.asarray(sims.max(axis=1), dtype=np.float64).ravel()

    def fade(self, p: np.ndarray, similarity: np.ndarray) -> np.ndarray:
        if self.threshold <= 0:
            return p
        keep = np.clip(similarity / self.threshold, 0.0, 1.0) ** NOVELTY_POWER
        return np.asarray(keep[:, None] * p + (1 - keep[:, None]) / p.shape[1])


@dataclass
class ClassifierModel:
    """A trained document classifier: ``predict_proba`` gives calibrated, sorted ``(label, score)``."""

    labels: list[str]
    multi_label: bool
    featurizer: Featurizer
    coef: np.ndarray  # (n_labels, n_features) SVM weights
    intercept: np.ndarray  # (n_labels,)
    temperature: float = DEFAULT_TEMPERATURE
    c: float = SVM_C
    nb_weight: float = 0.0
    nb_log_prob: np.ndarray | None = None  # (n_features, n_labels) Complement NB weights, float32
    power: float = 1.0
    platt: tuple[float, float] = (2.0, 0.0)
    info: dict[str, Any] = field(default_factory=dict)
    dense: list[DenseHead] = field(default_factory=list)
    weights: tuple[float, ...] = ()  # log-linear blend: the sparse model's weight, then one per dense head
    novelty: Novelty | None = None

    # --- inference -----------------------------------------------------------------------------------
    def _margins(self, x: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(x @ self.coef.T) + self.intercept

    def _vectors(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Embeddings of ``texts`` for every encoder the model uses and this process can load. For one
        document the ONNX encoders run side by side (onnxruntime releases the GIL): a request waits for the
        slowest encoder, not for their sum. (Measured and left: every encoder in a side thread, the sparse
        model meanwhile in the caller's, p50 2.9 → 4.1 ms for a BANKING77 request, the hand-offs and the GIL;
        the costliest encoder started first, before the sparse model: no change.)"""
        names = {name for head in self.dense for name in head.encoders}
        if self.novelty is not None and self.novelty.encoder:
            names.add(self.novelty.encoder)
        found = [(name, encoding.get_encoder(name)) for name in sorted(names)]
        loaded = [(name, e) for name, e in found if e is not None]
        sessions = [(name, e) for name, e in loaded if not e.is_static and not e.cached(texts)]
        if len(texts) != 1 or len(sessions) < 2:
            return {name: e.encode(texts) for name, e in loaded}
        pending = {name: _side_pool().submit(e.encode, texts) for name, e in sessions[1:]}
        out = {name: e.encode(texts) for name, e in loaded if name not in pending}
        out.update((name, future.result()) for name, future in pending.items())
        return out

    def _finish(self, p_sparse: np.ndarray, vectors: dict[str, np.ndarray], words: Any) -> np.ndarray:
        """Blend with the dense heads, apply the power calibration, fade novel documents."""
        p = p_sparse
        if self.dense:
            parts = [(self.weights[0], p_sparse)]
            for w, head in zip(self.weights[1:], self.dense, strict=True):
                features = head.features(vectors)
                if features is not None:
                    parts.append((w, head.proba(features)))
            p = _log_blend([q for _, q in parts], [w for w, _ in parts])
        if self.power != 1.0:
            p = _power_normalise(p, self.power)
        if self.novelty is not None:
            space = vectors.get(self.novelty.encoder) if self.novelty.encoder else words
            if space is not None:
                p = self.novelty.fade(p, self.novelty.similarity(space))
        return p

    def scores(self, texts: list[str]) -> np.ndarray:
        """Calibrated scores, shape (len(texts), len(labels)), columns in ``labels`` order."""
        if len(texts) == 1:
            return self._score_one(texts[0])[None, :]
        x = self.featurizer.transform(texts)
        margins = self._margins(x)
        if self.multi_label:
            a, b = self.platt
            return _sigmoid(a * margins + b)
        p = _softmax(self.temperature * margins)
        if self.nb_log_prob is not None and self.nb_weight > 0:
            # ComplementNB.predict_proba, without its per-call float64 copy of the weights (~6 ms)
            p_nb = _softmax(np.asarray(x @ self.nb_log_prob, dtype=np.float64))
            p = (1 - self.nb_weight) * p + self.nb_weight * p_nb
        words = None
        if self.novelty is not None and not self.novelty.encoder:
            words = _normalise_rows(x[:, : self.featurizer.word_features])
        return self._finish(p, self._vectors(texts), words)

    def _score_one(self, text: str) -> np.ndarray:
        """``scores`` for one document through the featurizer's fast path (real-time inference)."""
        idx, val = self.featurizer.transform_one(text)
        margins = (self.coef[:, idx].astype(np.float64) @ val + self.intercept)[None, :]
        if self.multi_label:
            a, b = self.platt
            return _sigmoid(a * margins + b)[0]
        p = _softmax(self.temperature * margins)
        if self.nb_log_prob is not None and self.nb_weight > 0:
            p_nb = _softmax((val @ self.nb_log_prob[idx].astype(np.float64))[None, :])
            p = (1 - self.nb_weight) * p + self.nb_weight * p_nb
        words = None
        if self.novelty is not None and not self.novelty.encoder:
            n_words = self.featurizer.word_features
            keep = idx < n_words
            row = sparse.csr_matrix(
                (val[keep], (np.zeros(int(keep.sum()), dtype=np.int64), idx[keep])), (1, n_words)
            )
            words = _normalise_rows(row)
        return self._finish(p, self._vectors([text]), words)[0]

    def predict_proba(self, texts: list[str]) -> list[list[tuple[str, float]]]:
        """For each text, every label with its score, best first."""
        out: list[list[tuple[str, float]]] = []
        for row in self.scores(texts):
            order = np.argsort(-row, kind="stable")
            out.append([(self.labels[j], float(row[j])) for j in order])
        return out

    def predict(self, texts: list[str]) -> list[list[str]]:
        """Predicted labels: the best one (multi-class) or those scoring ≥ 0.5 (multi-label)."""
        result: list[list[str]] = []
        for ranked in self.predict_proba(texts):
            if self.multi_label:
                result.append([name for name, score in ranked if score >= MULTI_LABEL_THRESHOLD])
            else:
                result.append([ranked[0][0]])
        return result

    # --- persistence ---------------------------------------------------------------------------------
    def save(self, path: Path | str) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("wb") as fh:
            pickle.dump({"format": FORMAT_VERSION, "model": self}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | str) -> ClassifierModel:
        # Only files the service wrote itself into its state_dir are loaded (pickle is not for strangers).
        with Path(path).open("rb") as fh:
            doc = pickle.load(fh)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: not a classifier model of format {FORMAT_VERSION}")
        model = doc["model"]
        if not isinstance(model, cls):
            raise ValueError(f"{path}: not a ClassifierModel")
        for name, default in (("dense", []), ("weights", ()), ("novelty", None)):  # models saved before them
            model.__dict__.setdefault(name, default)
        for head in model.dense:  # saved with one head per encoder
            if "encoder" in head.__dict__:
                head.encoders = (head.__dict__.pop("encoder"),)
        return model


# --- training ------------------------------------------------------------------------------------------
def _fit_svm(x: sparse.csr_matrix, y: np.ndarray, c: float = SVM_C) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest linear SVM → (coef, intercept) with one row per class (also for 2 classes)."""
    svm = LinearSVC(C=c).fit(x, y)
    if int(y.max()) + 1 == 2:  # one decision function: split it symmetrically over the two classes
        w, b = svm.coef_[0], svm.intercept_[0]
        return np.ascontiguousarray(np.vstack([-w, w]) / 2, dtype=np.float32), np.array([-b, b]) / 2
    return np.ascontiguousarray(svm.coef_, dtype=np.float32), np.asarray(svm.intercept_)


def _fit_binary_svms(x: sparse.csr_matrix, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One LinearSVC per label column of the 0/1 matrix ``y`` (constant columns: a constant margin)."""
    coef = np.zeros((y.shape[1], x.shape[1]), dtype=np.float32)
    intercept = np.zeros(y.shape[1])
    for j in range(y.shape[1]):
        col = y[:, j]
        if col.min() == col.max():
            intercept[j] = 2.0 if col[0] == 1 else -2.0
            continue
        svm = LinearSVC(C=SVM_C).fit(x, col)
        coef[j], intercept[j] = svm.coef_[0], svm.intercept_[0]
    return coef, intercept


def _encoders_for(texts: list[str], requested: tuple[str, ...] | None) -> list[encoding.Encoder]:
    """The encoders to blend: ``requested`` (default ENCODERS, short-document ones only for many short
    documents) less those turned off by ``$COMPREHEND_ENCODERS`` or that cannot be loaded here (logged)."""
    if requested is None:
        short = bool(texts) and float(np.median([len(t) for t in texts])) <= SHORT_DOCUMENT_CHARS
        requested = tuple(n for n in ENCODERS if n not in SHORT_ENCODERS or short)
        # a static table beside the encoder it was distilled from adds nothing (BANKING77: held-out weight 0,
        # dev accuracy 0.929 with or without it) and costs a head to fit and a blend weight to choose
        requested = tuple(n for n in requested if encoding.SPECS[n].distilled_from not in requested)
    found = [encoding.get_encoder(name) for name in encoding.enabled(requested)]
    return [e for e in found if e is not None]


def _fit_dense(
    vectors: np.ndarray,
    y: np.ndarray,
    n_labels: int,
    c: float,
    start: tuple[np.ndarray, np.ndarray] | None = None,
    max_iter: int = DENSE_MAX_ITER,
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression on embeddings (L2, ``c`` as scikit-learn's ``C``) → (coef,
    intercept), one row per label; ``start``: a previous fit to warm-start from.

    Written out (float32 products, L-BFGS, one BLAS thread) rather than scikit-learn's: ~5x faster here, and
    on a busy 2-core machine multi-threaded BLAS is slower still (BANKING77: 2-3 s instead of 10-20 s)."""
    n, d = vectors.shape
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    target = np.zeros((n, n_labels), dtype=np.float32)
    target[np.arange(n), y] = 1.0
    reg = 1.0 / (c * n)
    size = d * n_labels

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[:size].reshape(d, n_labels).astype(np.float32)
        z = x @ w + theta[size:].astype(np.float32)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        total = e.sum(axis=1, keepdims=True)
        value = -float(np.sum(z[np.arange(n), y] - np.log(total[:, 0]))) / n
        value += 0.5 * reg * float(np.dot(theta[:size], theta[:size]))
        residual = e / total - target
        grad_w = (x.T @ residual) / n + reg * w
        return value, np.concatenate([grad_w.ravel(), residual.sum(axis=0) / n]).astype(np.float64)

    theta0 = np.zeros(size + n_labels) if start is None else np.concatenate([start[0].T.ravel(), start[1]])
    with threadpool_limits(limits=1, user_api="blas"):
        result = minimize(
            loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter, "gtol": 1e-4}
        )
    coef = np.ascontiguousarray(result.x[:size].reshape(d, n_labels).T, dtype=np.float32)
    return coef, np.asarray(result.x[size:], dtype=np.float64)


def _choose_weights(parts: list[np.ndarray], y: np.ndarray) -> tuple[float, ...]:
    """Blend weights (a DENSE_WEIGHT_STEP grid on the simplex) minimising the held-out log-loss.

    Log-loss rather than accuracy: on ~900 held-out documents one document is 0.1 points of accuracy, so
    accuracy's maximum moves with single documents, while log-loss, a proper scoring rule, weighs every
    score (English tweets, 183 held out, C = 20: by accuracy the embeddings got weight 0 and dev 0.580, by
    log-loss 0.608; AG News 0.880 → 0.8875)."""
    steps = round(1 / DENSE_WEIGHT_STEP)
    grid = [
        tuple(k / steps for k in combo)
        for combo in itertools.product(range(steps + 1), repeat=len(parts))
        if sum(combo) == steps
    ]
    return min(grid, key=lambda weights: _nll(_log_blend(parts, weights), y))


def _novelty(space: Any, y: np.ndarray, n_labels: int, encoder: str) -> Novelty:
    """Label centroids of the L2-normalised rows of ``space`` and the threshold under which scores fade.

    Each training document is compared with every centroid, its own label's computed without it
    (``x · (S - x) / |S - x|`` with ``S`` the sum of the label's rows), so the threshold holds for new
    text."""
    onehot = sparse.csr_matrix((np.ones(len(y)), (y, np.arange(len(y)))), shape=(n_labels, len(y)))
    sums = onehot @ space  # (n_labels, dim): sparse for the word features
    dots = space @ sums.T
    dots = np.asarray(dots.toarray() if sparse.issparse(dots) else dots, dtype=np.float64)
    squares = sums.multiply(sums).sum(axis=1) if sparse.issparse(sums) else (sums * sums).sum(axis=1)
    norms = np.sqrt(np.asarray(squares, dtype=np.float64).ravel())
    self_dot = space.multiply(space).sum(axis=1) if sparse.issparse(space) else (space * space).sum(axis=1)
    self_dot = np.asarray(self_dot, dtype=np.float64).ravel()
    rows = np.arange(len(y))
    own_dot = dots[rows, y] - self_dot
    own_norm = np.sqrt(np.clip(norms[y] ** 2 - 2 * dots[rows, y] + self_dot, 0.0, None))
    sims = dots / np.where(norms > 0, norms, 1.0)[None, :]
    sims[rows, y] = np.where(own_norm > 1e-9, own_dot / np.where(own_norm > 1e-9, own_norm, 1.0), 0.0)
    scale = 1.0 / np.where(norms > 0, norms, 1.0)
    if sparse.issparse(sums):
        centroids: Any = sparse.csr_matrix(sparse.diags(scale) @ sums, dtype=np.float32)
    else:
        centroids = np.ascontiguousarray(sums * scale[:, None], dtype=np.float32)
    return Novelty(encoder, centroids, float(np.quantile(sims.max(axis=1), NOVELTY_QUANTILE)))


def _encode_all(
    chosen: list[encoding.Encoder], texts: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, int], float]:
    """Each chosen encoder's embeddings of ``texts`` → (vectors, texts encoded (cache misses), seconds)."""
    started = time.perf_counter()
    vectors: dict[str, np.ndarray] = {}
    encoded: dict[str, int] = {}
    for encoder in chosen:
        before = encoder.encoded
        vectors[encoder.name] = encoder.encode(texts)
        encoded[encoder.name] = encoder.encoded - before
    return vectors, encoded, time.perf_counter() - started


def _train_multi_class(
    texts: list[str],
    labels: list[list[str]],
    names: list[str],
    calibrate: bool,
    seed: int,
    encoders: tuple[str, ...] | None,
) -> ClassifierModel:
    """The sparse model and the embedding heads (see the module's docstring). The encoders run in a side
    thread while the sparse model is fitted, and the final SVM is refitted while the embedding heads are
    chosen (onnxruntime and liblinear release the GIL): on two free cores, training takes about its CPU time
    halved rather than the sum of its steps."""
    index = {name: i for i, name in enumerate(names)}
    y = np.array([index[ls[0]] for ls in labels])
    started = time.perf_counter()
    chosen = _encoders_for(texts, encoders)
    with ThreadPoolExecutor(2, thread_name_prefix="classifier-train") as side:
        encoding_job = side.submit(_encode_all, chosen, texts)
        featurizer = Featurizer()
        x = featurizer.fit_transform(texts)
        model = ClassifierModel(names, False, featurizer, np.zeros((0, 0)), np.zeros(0))
        model.info["featurize_seconds"] = round(time.perf_counter() - started, 2)
        model.info["encoders"] = [e.name for e in chosen]

        tr, held = _split(labels, 0.1, seed) if calibrate else (list(range(len(texts))), [])
        calibrated = len(held) >= MIN_CALIBRATION_DOCS and len(set(y[tr].tolist())) == len(names)
        blended = np.zeros((0, len(names)))
        if calibrated:
            yh = y[held]
            p_nb = ComplementNB(alpha=0.3).fit(x[tr], y[tr]).predict_proba(x[held])
            best: tuple[float, float, float, float, np.ndarray] | None = None  # (acc, C, T, w, blend)
            x_tr, y_tr = x[tr], y[tr]
            with ThreadPoolExecutor(len(SVM_C_GRID)) as pool:  # liblinear releases the GIL: side by side
                fits = list(pool.map(lambda c: _fit_svm(x_tr, y_tr, c), SVM_C_GRID))
            for c, (coef, intercept) in zip(SVM_C_GRID, fits, strict=True):
                margins = np.asarray(x[held] @ coef.T) + intercept
                fit = minimize_scalar(
                    lambda t, m=margins: _nll(_softmax(t * m), yh),
                    bounds=TEMPERATURE_BOUNDS,
                    method="bounded",
                )
                p_svm = _softmax(float(fit.x) * margins)
                for w in BLEND_WEIGHTS:
                    candidate = (1 - w) * p_svm + w * p_nb
                    acc = float(np.mean(candidate.argmax(axis=1) == yh))
                    if best is None or acc > best[0] + 1e-9:
                        best = (acc, c, float(fit.x), w, candidate)
            assert best is not None
            acc, model.c, model.temperature, model.nb_weight, blended = best
            model.info.update(held_out=len(held), held_out_accuracy=acc)
        final_svm = side.submit(_fit_svm, x, y, model.c)  # C is chosen: refit on all data meanwhile
        vectors, encoded, encode_seconds = encoding_job.result()
        model.info.update(encoded=encoded, encode_seconds=round(encode_seconds, 2))
        heads = tuple(vectors)
        joint = np.hstack([vectors[name] for name in heads]) if heads else None
        start: tuple[np.ndarray, np.ndarray] | None = None
        dense_c = DENSE_C_GRID[-1]  # no held-out split to choose on (up to ~200 documents)
        if calibrated:
            if joint is not None:
                joint_tr, y_tr = joint[tr], y[tr]
                # side by side (numpy's products release the GIL); the outer limit holds BLAS to one thread
                # until every fit is done (each fit's own limit restores the setting it found)
                with (
                    threadpool_limits(limits=1, user_api="blas"),
                    ThreadPoolExecutor(len(DENSE_C_GRID)) as pool,
                ):
                    dense_fits = list(
                        pool.map(lambda c: _fit_dense(joint_tr, y_tr, len(names), c), DENSE_C_GRID)
                    )
                held_probs = [DenseHead(heads, *fit_c).proba(joint[held]) for fit_c in dense_fits]
                scored = [(_nll(p, yh), i) for i, p in enumerate(held_probs)]
                chosen_c = min(scored)[1]
                dense_c, start, p_held = DENSE_C_GRID[chosen_c], dense_fits[chosen_c], held_probs[chosen_c]
                parts = [blended, p_held]
                model.weights = _choose_weights(parts, yh)
                blended = _log_blend(parts, model.weights)
                model.info.update(
                    held_out_accuracy=float(np.mean(blended.argmax(axis=1) == yh)),
                    held_out_accuracy_sparse=acc,
                    blend_weights={"sparse": model.weights[0], "+".join(heads): model.weights[1]},
                    dense_c=dense_c,
                )
            fit = minimize_scalar(
                lambda t: _nll(_power_normalise(blended, t), yh), bounds=(0.2, 5), method="bounded"
            )
            model.power = float(fit.x)
            model.info["calibrate_seconds"] = round(time.perf_counter() - started, 2)
        elif joint is not None:
            model.weights = (0.5, 0.5)  # no held-out split (small data): sparse and dense halves
        model.coef, model.intercept = final_svm.result()
    counts = np.bincount(y, minlength=len(names))
    equal_intercepts = "held_out" not in model.info and counts.max() > UNBALANCED_RATIO * counts.min()
    if equal_intercepts:
        # small, unbalanced data: the intercepts only echo the sample's label counts; a uniform prior
        model.intercept = np.full_like(model.intercept, model.intercept.mean())
        model.info["equal_intercepts"] = True
    if model.nb_weight > 0:
        nb = ComplementNB(alpha=0.3).fit(x, y)
        model.nb_log_prob = np.ascontiguousarray(nb.feature_log_prob_.T, dtype=np.float32)
    if joint is not None:
        refit_iter = DENSE_REFIT_ITER if start else DENSE_MAX_ITER
        coef, intercept = _fit_dense(joint, y, len(names), dense_c, start, refit_iter)
        if equal_intercepts:
            intercept = np.full_like(intercept, intercept.mean())
        model.dense.append(DenseHead(heads, coef, intercept))
    if not model.dense:
        model.weights = ()
    # novelty: in the first encoder's space (USE: multilingual), else over the word TF-IDF features
    if vectors:
        name = next(iter(vectors))
        model.novelty = _novelty(vectors[name], y, len(names), name)
    else:
        model.novelty = _novelty(_normalise_rows(x[:, : featurizer.word_features]), y, len(names), "")
    model.info["novelty_threshold"] = round(model.novelty.threshold, 4)
    model.info["train_seconds"] = round(time.perf_counter() - started, 2)
    return model


def _train_multi_label(
    texts: list[str], labels: list[list[str]], names: list[str], calibrate: bool, seed: int
) -> ClassifierModel:
    index = {name: i for i, name in enumerate(names)}
    y = np.zeros((len(texts), len(names)), dtype=np.int8)
    for i, ls in enumerate(labels):
        for name in ls:
            y[i, index[name]] = 1
    featurizer = Featurizer()
    x = featurizer.fit_transform(texts)
    model = ClassifierModel(names, True, featurizer, np.zeros((0, 0)), np.zeros(0))
    tr, held = _split(labels, 0.1, seed) if calibrate else (list(range(len(texts))), [])
    if len(held) >= MIN_CALIBRATION_DOCS:
        coef, intercept = _fit_binary_svms(x[tr], y[tr])
        margins = (np.asarray(x[held] @ coef.T) + intercept).ravel()
        positives = y[held].ravel().astype(bool)
        # Platt's smoothed targets keep a small, separable held-out set from giving an infinite slope
        n_pos, n_neg = int(positives.sum()), int((~positives).sum())
        target = np.where(positives, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

        def loss(ab: np.ndarray) -> float:
            p = np.clip(_sigmoid(ab[0] * margins + ab[1]), 1e-12, 1 - 1e-12)
            return float(-np.mean(target * np.log(p) + (1 - target) * np.log(1 - p)))

        res = minimize(loss, np.array([2.0, 0.0]), method="Nelder-Mead")
        a, b = float(res.x[0]), float(res.x[1])
        if a > 0 and math.isfinite(b):
            model.platt = (min(max(a, PLATT_SLOPE_BOUNDS[0]), PLATT_SLOPE_BOUNDS[1]), b)
        model.info.update(held_out=len(held))
    model.coef, model.intercept = _fit_binary_svms(x, y)
    return model


def train(
    texts: list[str],
    labels: list[list[str]],
    *,
    multi_label: bool,
    calibrate: bool = True,
    seed: int = 0,
    encoders: tuple[str, ...] | None = None,
) -> ClassifierModel:
    """Train a classifier on ``texts`` with their ``labels`` (one per text in multi-class mode).

    ``encoders``: the sentence encoders to blend in (multi-class only); ``None``: the default choice
    (see ``ENCODERS``), ``()``: the sparse model alone."""
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    if not multi_label and any(len(ls) != 1 for ls in labels):
        raise ValueError("multi-class training needs exactly one label per document")
    names = sorted({name for ls in labels for name in ls})
    if len(names) < (1 if multi_label else 2):
        raise ValueError("training needs at least 2 labels")
    if multi_label:
        return _train_multi_label(texts, labels, names, calibrate, seed)
    return _train_multi_class(texts, labels, names, calibrate, seed, encoders)
