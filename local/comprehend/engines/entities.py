"""Entity recognition engine of the local Comprehend-compatible service: a linear-chain CRF.

Documents are tokenised with a regular expression that keeps character offsets; the training spans become
BIO tags (IOB2) over the tokens; a CRF (CRFsuite through ``python-crfsuite``, the backend of
sklearn-crfsuite) learns them from word, shape, prefix/suffix and +-2 neighbour features, word clusters and
a gazetteer of the training entities. Predictions come back shaped like Comprehend's ``DetectEntities``
output, with character offsets into the original text and, as ``Score``, the lowest CRF marginal
probability of the span's tags (an upper bound of the probability of the whole span).

Word clusters: k-means classes (k = 64, 256, 1024) of MiniLM's WordPiece embeddings, prepared at install
time (:func:`local.comprehend.engines.encoders.word_clusters`); a word outside the WordPiece vocabulary
takes its first piece's (``fc…``). They tell the CRF that an unseen ``Rotterdam`` is a word like
``Antwerp``. Without them (encoders not prepared) the features are the others'.

Gazetteer: every annotated span's token sequence with its most frequent type; a document's tokens are
matched greedily (longest first, up to GAZETTEER_MAX_TOKENS) and each matched token gets ``gaz=B-TYPE`` /
``gaz=I-TYPE`` (also seen by its +-1 neighbours); each word of a span also counts alone (``gw=TYPE``: the
type of the entities the word was part of, so ``Smith`` in a new full name still hints at a person). Built
from all of the training data it would always fire on training documents, and the CRF would trust it blindly
(CoNLL-2003 dev F1 0.77, per the design notes), so training documents see a gazetteer built out of fold:
from the other GAZETTEER_FOLDS - 1 folds. The saved model keeps the gazetteer of all the training data for
prediction.

Measure on real data::

    python -m local.comprehend.engines.entities --train DIR --test DIR

where each DIR holds ``documents.txt`` and ``annotations.csv`` (Comprehend's entity-list format).
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycrfsuite
from comprehend_al.datasets.entities import Annotation, EntityUpload, validate_upload

from local.comprehend.engines import encoders

TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|\w+(?:[-.,&/:]\w+)*|[^\w\s]")
DEFAULT_PARAMS: dict[str, Any] = {
    "c1": 0.05,
    "c2": 0.05,
    "max_iterations": 70,  # CoNLL-2003 dev: F1 0.9169 at 70, 0.9161 at 100, ~35 % less training time
    "feature.possible_transitions": True,
}


GAZETTEER_FOLDS = 2
GAZETTEER_MAX_TOKENS = 6
GAZETTEER_TOKENS = True
TOKEN_KEY = "\x00"  # gazetteer keys (TOKEN_KEY, word): the type of the entities a word was part of
FORMAT_MAGIC = b"LOCAL-ENTITY-MODEL-1\n"  # saved model: magic + pickle {crf, gazetteer}; else raw CRFsuite


@dataclass(frozen=True)
class Token:
    text: str
    begin: int
    end: int


def tokenize(text: str, boundaries: Sequence[int] = ()) -> list[Token]:
    """Tokens of ``text`` with their character offsets; also split a token at any offset in ``boundaries``.

    ``boundaries`` (training only) are the annotated span edges, so that a span edge inside a regex token
    (``Obama's`` annotated as ``Obama``) still falls on a token edge.
    """
    tokens = [Token(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]
    if not boundaries:
        return tokens
    cuts = sorted(set(boundaries))
    result: list[Token] = []
    for token in tokens:
        inner = [c for c in cuts if token.begin < c < token.end]
        start = token.begin
        for cut in [*inner, token.end]:
            if text[start:cut].strip():
                result.append(Token(text[start:cut], start, cut))
            start = cut
    return result


def _shape(word: str) -> str:
    out = []
    for ch in word:
        if ch.isupper():
            out.append("X")
        elif ch.islower():
            out.append("x")
        elif ch.isdigit():
            out.append("d")
        else:
            out.append(ch)
    return "".join(out)


def _short_shape(shape: str) -> str:
    return re.sub(r"(.)\1+", r"\1", shape)


def _token_features(word: str) -> tuple[list[str], list[str]]:
    """(features of the token itself, the subset also given to its neighbours)."""
    lower = word.lower()
    shape = _shape(word)
    short = _short_shape(shape)
    is_title = word[:1].isupper() and word[1:].islower()
    is_upper = word.isupper()
    own = [
        "w=" + lower,
        "sh=" + (shape if len(shape) <= 8 else short),
        "ssh=" + short,
        "len=" + str(min(len(word), 8)),
    ]
    for k in range(1, 5):
        if len(word) >= k:
            own.append(f"p{k}=" + word[:k])
            own.append(f"s{k}=" + lower[-k:])
    if is_title:
        own.append("title")
    if is_upper:
        own.append("upper")
    if word.isdigit():
        own.append("digit")
    elif any(ch.isdigit() for ch in word):
        own.append("hasdigit")
    if "-" in word:
        own.append("hyphen")
    if "." in word:
        own.append("dot")
    shared = ["w=" + lower, "ssh=" + short, "s3=" + lower[-3:]]
    if is_title:
        shared.append("title")
    if is_upper:
        shared.append("upper")
    return own, shared


def _cluster_features(tokens: Sequence[Token]) -> list[list[str]] | None:
    """Per token: its word-cluster ids at every size (``c64=…``; ``fc64=…`` when from its first piece)."""
    clusters = encoders.word_clusters()
    if clusters is None:
        return None
    out: list[list[str]] = []
    for token in tokens:
        found = clusters.lookup(token.text)
        if found is None:
            out.append([])
            continue
        first, ids = found
        prefix = "fc" if first else "c"
        out.append([f"{prefix}{size}={i}" for size, i in zip(clusters.sizes, ids, strict=True)])
    return out


def features(tokens: Sequence[Token], text: str) -> list[list[str]]:
    """CRFsuite attribute lists, one per token."""
    letters = [ch for ch in text if ch.isalpha()]
    doc_upper = len(letters) >= 8 and sum(ch.isupper() for ch in letters) > 0.8 * len(letters)
    per_token = [_token_features(t.text) for t in tokens]
    n = len(tokens)
    result: list[list[str]] = []
    for i, (own, _) in enumerate(per_token):
        feats = ["bias", *own]
        if doc_upper:
            feats.append("docupper")
            feats.append("docupper|w=" + tokens[i].text.lower())
        if i == 0:
            feats.append("BOS")
        if i == n - 1:
            feats.append("EOS")
        for offset in (-2, -1, 1, 2):
            j = i + offset
            if 0 <= j < n:
                prefix = f"{offset:+d}"
                feats.extend(f"{prefix}{f}" for f in per_token[j][1])
            elif j == -1 or j == n:
                feats.append(f"{offset:+d}pad")
        lower = tokens[i].text.lower()
        if i > 0:
            feats.append(f"-1w|w={tokens[i - 1].text.lower()}|{lower}")
        if i < n - 1:
            feats.append(f"w|+1w={lower}|{tokens[i + 1].text.lower()}")
        result.append(feats)
    clusters = _cluster_features(tokens)
    if clusters is not None:
        for i, feats in enumerate(result):
            feats.extend(clusters[i])
            if tokens[i].text[:1].isupper():  # a capitalised word of this class (the clusters are uncased)
                feats.extend("T" + f for f in clusters[i][1:2])
            for offset in (-2, -1, 1, 2):
                j = i + offset
                if 0 <= j < n:
                    shared = clusters[j][1:3] if abs(offset) == 1 else clusters[j][1:2]
                    feats.extend(f"{offset:+d}{f}" for f in shared)
    return result


def bio_tags(tokens: Sequence[Token], spans: Sequence[Annotation]) -> list[str]:
    """IOB2 tags of ``tokens`` for the character ``spans`` (a token belongs to a span it lies inside)."""
    tags = ["O"] * len(tokens)
    for span in spans:
        first = True
        for i, token in enumerate(tokens):
            if token.begin >= span.begin and token.end <= span.end:
                tags[i] = ("B-" if first else "I-") + span.type
                first = False
    return tags


def decode(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Token ranges ``(first, last_exclusive, type)`` from IOB tags (an I- after another type starts one)."""
    entities: list[tuple[int, int, str]] = []
    start: int | None = None
    current = ""
    for i, tag in enumerate([*tags, "O"]):
        kind, _, type_ = tag.partition("-")
        if start is not None and (kind != "I" or type_ != current):
            entities.append((start, i, current))
            start = None
        if kind == "B" or (kind == "I" and start is None):
            start, current = i, type_
    return entities


Gazetteer = dict[tuple[str, ...], str]  # lower-cased token sequence → entity type


def build_gazetteer(documents: Sequence[Sequence[Token]], spans: Sequence[Sequence[Annotation]]) -> Gazetteer:
    """The training spans' token sequences (lower-cased), each with its most frequent type."""
    counts: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for tokens, doc_spans in zip(documents, spans, strict=True):
        for span in doc_spans:
            words = tuple(t.text.lower() for t in tokens if t.begin >= span.begin and t.end <= span.end)
            if 0 < len(words) <= GAZETTEER_MAX_TOKENS:
                counts[words][span.type] += 1
            if GAZETTEER_TOKENS:
                for word in words:  # also each word alone: the type of entities it was part of
                    counts[(TOKEN_KEY, word)][span.type] += 1
    return {words: c.most_common(1)[0][0] for words, c in counts.items()}


def gazetteer_tags(tokens: Sequence[Token], gazetteer: Gazetteer) -> list[str]:
    """``B-TYPE`` / ``I-TYPE`` / ``""`` per token: greedy longest matches of the gazetteer's entries."""
    tags = [""] * len(tokens)
    if not gazetteer:
        return tags
    words = [t.text.lower() for t in tokens]
    i = 0
    while i < len(words):
        for n in range(min(GAZETTEER_MAX_TOKENS, len(words) - i), 0, -1):
            type_ = gazetteer.get(tuple(words[i : i + n]))
            if type_ is not None:
                tags[i] = "B-" + type_
                for j in range(i + 1, i + n):
                    tags[j] = "I-" + type_
                i += n
                break
        else:
            i += 1
    return tags


def _with_gazetteer(
    feats: list[list[str]], tags: list[str], tokens: Sequence[Token], gazetteer: Gazetteer
) -> list[list[str]]:
    n = len(tags)
    for i, row in enumerate(feats):
        part_of = gazetteer.get((TOKEN_KEY, tokens[i].text.lower()))
        if part_of is not None:
            row.append("gw=" + part_of)
        if tags[i]:
            row.append("gaz=" + tags[i])
            row.append("gaz=" + tags[i][2:])
        for offset in (-1, 1):
            j = i + offset
            if 0 <= j < n and tags[j]:
                row.append(f"{offset:+d}gaz=" + tags[j])
    return feats


class EntityModel:
    """A trained CRF entity recognizer (the bytes of the CRFsuite model file) and its gazetteer."""

    def __init__(self, model: bytes, gazetteer: Gazetteer | None = None) -> None:
        self._model = model
        self.gazetteer: Gazetteer = gazetteer or {}
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(model)
        labels = self._tagger.labels()
        self.entity_types: list[str] = sorted({label[2:] for label in labels if label[:2] in ("B-", "I-")})

    def predict(self, text: str) -> list[dict[str, Any]]:
        """Entities of ``text``, shaped like Comprehend's ``DetectEntities`` ``Entities`` list."""
        tokens = tokenize(text)
        if not tokens:
            return []
        tagger = self._tagger
        tagger.set(
            _with_gazetteer(
                features(tokens, text), gazetteer_tags(tokens, self.gazetteer), tokens, self.gazetteer
            )
        )
        tags = tagger.tag()
        entities = []
        for first, last, type_ in decode(tags):
            score = min(tagger.marginal(tags[i], i) for i in range(first, last))
            begin, end = tokens[first].begin, tokens[last - 1].end
            entities.append(
                {
                    "BeginOffset": begin,
                    "EndOffset": end,
                    "Score": round(float(score), 6),
                    "Text": text[begin:end],
                    "Type": type_,
                }
            )
        return entities

    def to_bytes(self) -> bytes:
        """The saved form: FORMAT_MAGIC + a pickle of the CRFsuite model and the gazetteer."""
        payload = {"crf": self._model, "gazetteer": self.gazetteer}
        return FORMAT_MAGIC + pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> EntityModel:
        # Only files the service wrote itself into its state_dir are loaded (pickle is not for strangers).
        raw = Path(path).read_bytes()
        if not raw.startswith(FORMAT_MAGIC):  # a model saved before the gazetteer: raw CRFsuite bytes
            return cls(raw)
        payload = pickle.loads(raw[len(FORMAT_MAGIC) :])
        return cls(payload["crf"], payload["gazetteer"])


def train(
    documents: Sequence[str],
    annotations: Sequence[Annotation],
    *,
    params: dict[str, Any] | None = None,
    workdir: str | Path | None = None,
) -> EntityModel:
    """Train a CRF on ``documents`` and the spans in ``annotations`` (``doc_index`` into ``documents``)."""
    import tempfile

    spans: list[list[Annotation]] = [[] for _ in documents]
    for a in annotations:
        spans[a.doc_index].append(a)
    if not any(spans):
        raise ValueError("no annotations to train on")
    trainer = pycrfsuite.Trainer(verbose=False)
    trainer.set_params({**DEFAULT_PARAMS, **(params or {})})
    tokenized = [
        tokenize(text, [edge for a in doc_spans for edge in (a.begin, a.end)])
        for text, doc_spans in zip(documents, spans, strict=True)
    ]
    folds = [
        build_gazetteer(
            [t for i, t in enumerate(tokenized) if i % GAZETTEER_FOLDS != k],
            [s for i, s in enumerate(spans) if i % GAZETTEER_FOLDS != k],
        )
        for k in range(GAZETTEER_FOLDS)
    ]
    for i, (text, tokens, doc_spans) in enumerate(zip(documents, tokenized, spans, strict=True)):
        if tokens:
            fold = folds[i % GAZETTEER_FOLDS]
            feats = _with_gazetteer(features(tokens, text), gazetteer_tags(tokens, fold), tokens, fold)
            trainer.append(feats, bio_tags(tokens, doc_spans))
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / "model.crfsuite"
        trainer.train(str(path))
        return EntityModel(path.read_bytes(), build_gazetteer(tokenized, spans))


# --- command line: train on one folder, evaluate on another ---------------------------------------------
def read_folder(folder: Path) -> EntityUpload:
    """A folder in Comprehend's entity-list layout (``documents.txt`` + ``annotations.csv``), validated as
    an upload is (the benchmarks and this command line read their data with it)."""
    return validate_upload(
        (folder / "documents.txt").read_bytes(),
        (folder / "annotations.csv").read_bytes(),
        documents_file="documents.txt",
        annotations_file="annotations.csv",
    )


def main(argv: Sequence[str] | None = None) -> int:
    from comprehend_al.entity_metrics import evaluate_entities

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--train", type=Path, required=True, help="folder with documents.txt + annotations.csv"
    )
    parser.add_argument(
        "--test", type=Path, required=True, help="folder with documents.txt + annotations.csv"
    )
    parser.add_argument(
        "--params", type=json.loads, default=None, help='CRFsuite params as JSON, e.g. {"c1":0.1}'
    )
    parser.add_argument("--save", type=Path, default=None, help="write the trained model here")
    args = parser.parse_args(argv)

    training, testing = read_folder(args.train), read_folder(args.test)
    train_docs, train_annotations = training.documents, training.annotations
    test_docs, test_annotations = testing.documents, testing.annotations
    started = time.perf_counter()
    model = train(train_docs, train_annotations, params=args.params)
    train_seconds = time.perf_counter() - started
    if args.save:
        model.save(args.save)

    predicted: list[Annotation] = []
    latencies: list[float] = []
    for index, text in enumerate(test_docs):
        t0 = time.perf_counter()
        entities = model.predict(text)
        latencies.append(time.perf_counter() - t0)
        predicted.extend(Annotation(index, e["BeginOffset"], e["EndOffset"], e["Type"]) for e in entities)
    metrics = evaluate_entities(test_annotations, predicted, documents=len(test_docs))
    latencies.sort()

    def percentile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    summary = {
        "precision": round(metrics.Precision, 4),
        "recall": round(metrics.Recall, 4),
        "f1": round(metrics.F1Score, 4),
        "per_type": {
            t: {"precision": round(m.Precision, 4), "recall": round(m.Recall, 4), "f1": round(m.F1Score, 4)}
            for t, m in metrics.per_type.items()
        },
        "train_documents": len(train_docs),
        "test_documents": len(test_docs),
        "train_seconds": round(train_seconds, 1),
        "predict_p50_ms": round(percentile(0.50), 3),
        "predict_p99_ms": round(percentile(0.99), 3),
        "params": {**DEFAULT_PARAMS, **(args.params or {})},
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
