"""Benchmarks of model lines: one model per language vs one for all; a taxonomy nested vs flat.

    python -m local.bench --langs --train …/tweet_sentiment/mixed/train.csv --test …/mixed/dev.csv
    python -m local.bench --hierarchy --train …/dbpedia_hierarchy/train.csv --test …/dbpedia_hierarchy/dev.csv

Both run the local Comprehend service inside moto (S3 only) and talk to it through boto3, as the stack does.

``--langs``: every training and test text goes through DetectDominantLanguage and the router of the stack
(:func:`comprehend_al.routing.choose`, languages en, es, fr, de, it, pt). *Routed*: one classifier per
detected language, trained on the training texts routed to it; each test text is classified by the model
of the language it is routed to (a text routed nowhere counts as wrong). *Single*: one classifier on all
the training texts. The ``<file>.languages.txt`` beside the test file (one language per line) is read for
scoring only: the router's accuracy and the per-language figures, never as the router's input.

``--hierarchy``: labels ``PARENT/CHILD``. *Flat*: one classifier of the paths; its parent is read off
the predicted path. *Nested*: a parent classifier and one child classifier per parent (trained on that
parent's texts); a test text goes to the child model of the parent predicted. Per level: accuracy; the
hierarchical F1 scores each prediction as the set {parent, parent/child} against the true set (micro).

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

BUCKET = "local-bench"
ROLE = "arn:aws:iam::123456789012:role/local-bench"
REGION = "us-east-1"

LANGUAGES = "en,es,fr,de,it,pt"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def read_rows(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row[0], row[1]) for row in csv.reader(handle) if len(row) >= 2]


def to_csv(rows: list[tuple[str, str]]) -> bytes:
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


class Service:
    """The local service in moto: train a classifier on rows, serve it, classify texts."""

    def __init__(self, comprehend: Any, s3: Any, max_text_bytes: int) -> None:
        self.comprehend, self.s3, self.max_bytes = comprehend, s3, max_text_bytes
        self.train_seconds: dict[str, float] = {}

    def train(self, name: str, rows: list[tuple[str, str]], language: str = "en") -> str:
        """An endpoint serving a classifier trained on ``rows`` (its ARN)."""
        self.s3.put_object(Bucket=BUCKET, Key=f"{name}/train.csv", Body=to_csv(rows))
        started = time.perf_counter()
        arn = self.comprehend.create_document_classifier(
            DocumentClassifierName=name,
            VersionName="v1",
            DataAccessRoleArn=ROLE,
            InputDataConfig={"S3Uri": f"s3://{BUCKET}/{name}/train.csv", "DataFormat": "COMPREHEND_CSV"},
            OutputDataConfig={"S3Uri": f"s3://{BUCKET}/{name}/output/"},
            LanguageCode=language if language in LANGUAGES.split(",") else "en",
            Mode="MULTI_CLASS",
        )["DocumentClassifierArn"]
        while True:
            props = self.comprehend.describe_document_classifier(DocumentClassifierArn=arn)[
                "DocumentClassifierProperties"
            ]
            if props["Status"] not in ("SUBMITTED", "TRAINING"):
                break
            time.sleep(0.2)
        if props["Status"] != "TRAINED":
            raise SystemExit(f"{name}: training ended {props['Status']}: {props.get('Message')}")
        self.train_seconds[name] = round(time.perf_counter() - started, 2)
        log(f"{name}: {len(rows)} documents trained in {self.train_seconds[name]} s")
        endpoint = self.comprehend.create_endpoint(EndpointName=name, ModelArn=arn, DesiredInferenceUnits=1)
        arn = endpoint["EndpointArn"]
        while self.comprehend.describe_endpoint(EndpointArn=arn)["EndpointProperties"]["Status"] not in (
            "IN_SERVICE",
            "FAILED",
        ):
            time.sleep(0.1)
        return str(arn)

    def classify(self, endpoint: str, text: str) -> str:
        text = text.encode("utf-8")[: self.max_bytes].decode("utf-8", "ignore")
        return str(self.comprehend.classify_document(Text=text, EndpointArn=endpoint)["Classes"][0]["Name"])

    def languages(self, text: str) -> list[tuple[str, float]]:
        from comprehend_al.routing import detect_languages

        return detect_languages(self.comprehend, text.encode("utf-8")[:100_000].decode("utf-8", "ignore"))


def _with_service(work: Any) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from local.comprehend import ComprehendService

    with mock_aws(), tempfile.TemporaryDirectory(prefix="comprehend-bench-") as state:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        with ComprehendService(Path(state), region=REGION, min_docs_per_label=1) as service:
            comprehend = boto3.client("comprehend", region_name=REGION, endpoint_url=service.url)
            return dict(work(Service(comprehend, s3, service.max_text_bytes)))


def accuracy(pairs: list[tuple[str, str]]) -> float:
    return round(sum(p == t for p, t in pairs) / len(pairs), 4) if pairs else 0.0


# --- languages ------------------------------------------------------------------------------------------
def run_languages(train_path: Path, test_path: Path, max_docs: int | None) -> dict[str, Any]:
    from comprehend_al.errors import UnsupportedLanguage
    from comprehend_al.routing import choose
    from comprehend_al.settings import Settings

    train, test = read_rows(train_path), read_rows(test_path)
    truth_path = test_path.with_suffix(".languages.txt")
    truth = [line.strip() for line in truth_path.read_text().splitlines()]
    if max_docs:
        test, truth = test[:max_docs], truth[:max_docs]
    settings = Settings.model_validate(
        {"DATA_BUCKET": "b", "REGISTRY_TABLE": "t", "PARAMETER_PREFIX": "/p", "LANGUAGES": LANGUAGES}
    )

    def line_of(service: Service, text: str) -> str | None:
        try:
            return choose(service.languages(text), settings, lambda line: bool(line)).line
        except UnsupportedLanguage:
            return None

    def work(service: Service) -> dict[str, Any]:
        started = time.process_time()
        train_lines = [line_of(service, text) for _, text in train]
        test_lines = [line_of(service, text) for _, text in test]
        detect_ms = (time.process_time() - started) * 1000 / (len(train) + len(test))
        log(f"routed {len(train) + len(test)} texts ({detect_ms:.2f} ms CPU each, service included)")
        by_line: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row, line in zip(train, train_lines, strict=True):
            if line:
                by_line[line].append(row)
        endpoints = {
            line: service.train(f"lang-{line}", rows, line) for line, rows in sorted(by_line.items())
        }
        single = service.train("single", train)
        routed_pred = [
            service.classify(endpoints[line], text) if line in endpoints else None
            for (_, text), line in zip(test, test_lines, strict=True)
        ]
        single_pred = [service.classify(single, text) for _, text in test]
        return {"routed_pred": routed_pred, "single_pred": single_pred, "test_lines": test_lines}

    out = _with_service(work)
    gold = [label for label, _ in test]
    per_language: dict[str, Any] = {}
    for lang in sorted(set(truth)):
        idx = [i for i, t in enumerate(truth) if t == lang]
        per_language[lang] = {
            "documents": len(idx),
            "router": accuracy([(out["test_lines"][i] or "", lang) for i in idx]),
            "routed": accuracy([(out["routed_pred"][i] or "", gold[i]) for i in idx]),
            "single": accuracy([(out["single_pred"][i], gold[i]) for i in idx]),
        }
    return {
        "bench": "languages",
        "train": str(train_path),
        "test": str(test_path),
        "documents": {"train": len(train), "test": len(test)},
        "router_accuracy": accuracy(
            [(line or "", t) for line, t in zip(out["test_lines"], truth, strict=True)]
        ),
        "unrouted": sum(line is None for line in out["test_lines"]),
        "routed_accuracy": accuracy([(p or "", g) for p, g in zip(out["routed_pred"], gold, strict=True)]),
        "single_accuracy": accuracy(list(zip(out["single_pred"], gold, strict=True))),
        "per_language": per_language,
    }


# --- hierarchy ------------------------------------------------------------------------------------------
def split_path(label: str) -> tuple[str, str]:
    parent, _, child = label.partition("/")
    return parent, child or parent


def hierarchical_f1(pred: list[str], gold: list[str]) -> float:
    """Micro F1 over the sets {parent, parent/child} of each prediction and truth."""
    hit = total_pred = total_gold = 0
    for p, g in zip(pred, gold, strict=True):
        ps = {split_path(p)[0], p}
        gs = {split_path(g)[0], g}
        hit, total_pred, total_gold = hit + len(ps & gs), total_pred + len(ps), total_gold + len(gs)
    precision, recall = hit / total_pred, hit / total_gold
    return round(2 * precision * recall / (precision + recall), 4) if hit else 0.0


def level_figures(pred: list[str], gold: list[str]) -> dict[str, float]:
    return {
        "parent_accuracy": accuracy(
            [(split_path(p)[0], split_path(g)[0]) for p, g in zip(pred, gold, strict=True)]
        ),
        "child_accuracy": accuracy(list(zip(pred, gold, strict=True))),
        "hierarchical_f1": hierarchical_f1(pred, gold),
    }


def run_hierarchy(train_path: Path, test_path: Path, max_docs: int | None) -> dict[str, Any]:
    train, test = read_rows(train_path), read_rows(test_path)
    if max_docs:
        test = test[:max_docs]
    gold = [label for label, _ in test]

    def work(service: Service) -> dict[str, Any]:
        flat = service.train("flat", train)
        flat_pred = [service.classify(flat, text) for _, text in test]
        parent = service.train("parent", [(split_path(label)[0], text) for label, text in train])
        children: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for label, text in train:
            p, c = split_path(label)
            children[p].append((c, text))
        child_models = {
            p: service.train(f"child-{i}", rows) if len({c for c, _ in rows}) > 1 else rows[0][0]
            for i, (p, rows) in enumerate(sorted(children.items()))
        }
        nested_pred = []
        for _, text in test:
            p = service.classify(parent, text)
            model = child_models[p]
            child = service.classify(model, text) if model.startswith("arn:") else model
            nested_pred.append(f"{p}/{child}")
        return {"flat": flat_pred, "nested": nested_pred, "seconds": service.train_seconds}

    out = _with_service(work)
    parents = Counter(split_path(g)[0] for g in gold)
    return {
        "bench": "hierarchy",
        "train": str(train_path),
        "test": str(test_path),
        "documents": {"train": len(train), "test": len(test)},
        "labels": {"parents": len(parents), "children": len(set(gold))},
        "flat": level_figures(out["flat"], gold),
        "nested": level_figures(out["nested"], gold),
        "train_seconds": {
            "flat": out["seconds"]["flat"],
            "nested": round(sum(v for k, v in out["seconds"].items() if k != "flat"), 2),
        },
    }
