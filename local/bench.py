"""Benchmark the local Comprehend service end to end (classifiers and entity recognizers).

    python -m local.bench --train data/ag_news/train.csv --test data/ag_news/dev.csv [--mode multi-label]
    python -m local.bench --kind entities --train data/conll2003/train --test data/conll2003/dev

Inside moto's ``mock_aws`` (S3 only), it starts the service on loopback, uploads the training and test data,
trains through boto3 over HTTP, creates an endpoint and sends every test document to it through boto3
(latency measured around the boto3 call; the client has no moto hook, see :func:`local_client`). Progress goes
to stderr; the last line of stdout is one JSON object.

Classifiers (``--kind classifier``, Comprehend CSV files): ``TestS3Uri`` = the test file; a plain TF-IDF +
logistic regression baseline is trained on the same data in the same process for comparison. Calibration:
``ece`` is the expected calibration error of the top score on the test set (15 equal-width bins; multi-class
only), ``mean_top_score`` its mean; ``off_topic.mean_top_score`` is the mean top score of the fixed
:data:`OFF_TOPIC` texts (greetings, unrelated questions, gibberish), which should sit well below it, and
``off_topic.below_0_5`` the share of them scored under 0.5 (they would reach human review).
Cost: ``train_seconds`` (the service's training, nothing cached: the first training in this process) and
``retrain_seconds`` (the same data again: every embedding cached, so the fit alone), each with its CPU
seconds (``train_cpu_seconds``, ``retrain_cpu_seconds``: this process, every thread; the service trains
in it). The encoders' caches are emptied before the requests, so each pays its own encoding as new text
does; ``classify_cpu_ms`` is the CPU per request (boto3 client and service together). ``load`` gives the
machine's cores and its 1-minute load average when training and when classifying: on a busy machine the
wall times (``p99_ms`` among them) grow with it, the CPU figures much less.

Entity recognizers (``--kind entities``, folders holding ``documents.txt`` + ``annotations.csv``):
``EntityTypes`` = every type in the training annotations. The recognizer trains on all of the training
folder; the test folder is given as ``Documents/Annotations.TestS3Uri``. That does not leak: the local
service fits nothing on the test set (it only scores the trained model on it for
``RecognizerMetadata.EvaluationMetrics``), and without it the service would hold out ~10 % of the training
documents, so the model would not be the train → dev model the figures describe. Quality is measured here,
independently of the service: ``DetectEntities`` on each test document, scored with
:func:`comprehend_al.entity_metrics.evaluate_entities` (entity level, exact span + type, micro-averaged).
``train_seconds`` runs from the ``CreateEntityRecognizer`` call to ``TRAINED`` as seen by polling
(which includes the service's scoring of the test set); ``service_train_seconds`` is the service's own
``TrainingStartTime`` → ``TrainingEndTime``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Texts that belong to no label of any benchmark: a model should not be sure about them.
OFF_TOPIC = (
    "hi there",
    "hello",
    "good morning!",
    "hey, how are you doing today?",
    "thanks, bye",
    "ok",
    "why",
    "yes please",
    "lol",
    "see you tomorrow",
    "what is the capital of France?",
    "how tall is Mount Everest",
    "who wrote Pride and Prejudice?",
    "what's your favourite colour",
    "can you recommend a good pizza place nearby",
    "how do I boil an egg",
    "is it going to rain this weekend",
    "tell me a joke about cats",
    "what time is it in Tokyo",
    "my dog keeps chewing the sofa cushions",
    "which planet has the most moons",
    "how many legs does a spider have",
    "the quick brown fox jumps over the lazy dog",
    "I like turtles",
    "asdkjh qwe zzxv",
    "lorem ipsum dolor sit amet",
    "xyzzy plugh",
    "qwertyuiop asdfghjkl",
    "123 456 789",
    "!!!???",
    "blorft snazzle wib",
    "aaaaaaaaaaaa",
)
BUCKET = "local-bench"
ROLE = "arn:aws:iam::123456789012:role/local-bench"
REGION = "us-east-1"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _fake_aws_environment() -> None:
    """Nothing here may reach AWS: fake credentials and a region, no shared configuration."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        os.environ[name] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = REGION
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COMPREHEND", "AWS_ENDPOINT_URL_S3"):
        os.environ.pop(name, None)


def read_csv(path: Path, multi_label: bool, delimiter: str = "|") -> tuple[list[str], list[list[str]]]:
    from local.comprehend.classifier import parse_training_csv

    return parse_training_csv(
        path.read_bytes(), multi_label=multi_label, delimiter=delimiter, source=str(path)
    )


def scores(
    truth: list[list[str]], predicted: list[list[str]], labels: list[str], multi_label: bool
) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    if multi_label:
        binarizer = MultiLabelBinarizer(classes=labels)
        y_true, y_pred = binarizer.fit_transform(truth), binarizer.transform(predicted)
        extra: dict[str, Any] = {}
    else:
        y_true, y_pred = [t[0] for t in truth], [p[0] for p in predicted]
        extra = {"labels": labels}
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, average="macro", zero_division=0, **extra)), 4),
        "micro_f1": round(float(f1_score(y_true, y_pred, average="micro", zero_division=0, **extra)), 4),
    }


def baseline(
    train_texts: list[str],
    train_labels: list[list[str]],
    test_texts: list[str],
    test_labels: list[list[str]],
    multi_label: bool,
) -> dict[str, Any]:
    """Plain TF-IDF (scikit-learn defaults) + logistic regression (one-vs-rest for multi-label)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    labels = sorted({name for ls in train_labels for name in ls})
    started = time.perf_counter()
    vectorizer = TfidfVectorizer()
    x = vectorizer.fit_transform(train_texts)
    if multi_label:
        binarizer = MultiLabelBinarizer(classes=labels)
        model: Any = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(
            x, binarizer.fit_transform(train_labels)
        )
        seconds = time.perf_counter() - started
        predicted = [
            list(binarizer.classes_[row.astype(bool)])
            for row in model.predict(vectorizer.transform(test_texts))
        ]
    else:
        classifier = LogisticRegression(max_iter=1000).fit(x, [ls[0] for ls in train_labels])
        seconds = time.perf_counter() - started
        predicted = [[label] for label in classifier.predict(vectorizer.transform(test_texts))]
    return {**scores(test_labels, predicted, labels, multi_label), "train_seconds": round(seconds, 2)}


def expected_calibration_error(top_scores: list[float], correct: list[bool], bins: int = 15) -> float:
    """Σ_b (n_b / n) · |accuracy_b - mean score_b| over equal-width bins of the top score."""
    import numpy as np

    scores_, hits = np.asarray(top_scores, dtype=float), np.asarray(correct, dtype=float)
    which = np.minimum((scores_ * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() / len(scores_) * abs(hits[mask].mean() - scores_[mask].mean())
    return round(float(total), 4)


def encoders_in_use(texts: list[str]) -> list[str]:
    """The sentence encoders the engine blends in for these training texts (loadable in this process)."""
    from local.comprehend.engines.classification import _encoders_for

    return [e.name for e in _encoders_for(texts, None)]


def word_clusters_in_use() -> bool:
    """Whether the entity engine's word-cluster features are available in this process."""
    from local.comprehend.engines.encoders import word_clusters

    return word_clusters() is not None


def local_client(client: Any) -> Any:
    """``client`` (of the local service) without moto's hook: the service is a real HTTP server, reached as a
    deployed client reaches Comprehend, so moto (the in-process S3 the service reads from) has no business in
    its requests; its hook matches every request's URL against every mocked service's (~1 ms of CPU a request:
    BANKING77, sparse model alone, p50 3.3 → 2.3 ms)."""
    try:
        from moto.core.models import botocore_stubber
    except ImportError:  # another moto: its hook stays, and only costs time
        return client
    client.meta.events.unregister("before-send", botocore_stubber)
    return client


def percentile(values: list[float], q: float) -> float:
    import numpy as np

    return round(float(np.percentile(np.asarray(values), q)), 2)


def run_classifier(
    train_path: Path, test_path: Path, multi_label: bool, max_docs: int | None
) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from local.comprehend import ComprehendService

    train_texts, train_labels = read_csv(train_path, multi_label)
    test_texts, test_labels = read_csv(test_path, multi_label)
    if max_docs:
        test_texts, test_labels = test_texts[:max_docs], test_labels[:max_docs]
    labels = sorted({name for ls in train_labels for name in ls})
    log(f"{len(train_texts)} training and {len(test_texts)} test documents, {len(labels)} labels")

    with mock_aws(), tempfile.TemporaryDirectory(prefix="comprehend-bench-") as state:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="train.csv", Body=train_path.read_bytes())
        s3.put_object(Bucket=BUCKET, Key="test.csv", Body=test_path.read_bytes())
        with ComprehendService(Path(state), region=REGION) as service:
            comprehend: Any = local_client(
                boto3.client("comprehend", region_name=REGION, endpoint_url=service.url)
            )
            log(f"service at {service.url}; training")
            config: dict[str, Any] = {
                "S3Uri": f"s3://{BUCKET}/train.csv",
                "TestS3Uri": f"s3://{BUCKET}/test.csv",
                "DataFormat": "COMPREHEND_CSV",
            }
            if multi_label:
                config["LabelDelimiter"] = "|"
            load_before = _load()
            arn, props, wall, cpu = _train_classifier(comprehend, config, "v1", multi_label)
            train_seconds = (props["TrainingEndTime"] - props["TrainingStartTime"]).total_seconds()
            log(f"trained in {train_seconds:.1f} s, {cpu:.1f} s CPU (create → TRAINED {wall:.1f} s)")
            log(f"service metrics: {props['ClassifierMetadata']['EvaluationMetrics']}")
            log("retraining on the same data (embeddings cached)")
            _, again, _, recpu = _train_classifier(comprehend, config, "v2", multi_label)
            retrain_seconds = (again["TrainingEndTime"] - again["TrainingStartTime"]).total_seconds()
            log(f"retrained in {retrain_seconds:.1f} s, {recpu:.1f} s CPU")

            endpoint = comprehend.create_endpoint(EndpointName="bench", ModelArn=arn, DesiredInferenceUnits=1)
            while comprehend.describe_endpoint(EndpointArn=endpoint["EndpointArn"])["EndpointProperties"][
                "Status"
            ] not in ("IN_SERVICE", "FAILED"):
                time.sleep(0.1)
            key = "Labels" if multi_label else "Classes"
            # the service scored the test set when training, which cached its embeddings: each request is to
            # pay its own encoding, as new text does
            from local.comprehend.engines.encoders import clear_caches

            clear_caches()
            latencies: list[float] = []
            predicted: list[list[str]] = []
            top_scores: list[float] = []
            load_classify = _load()
            cpu_classify = time.process_time()
            for i, text in enumerate(test_texts):
                text = text.encode("utf-8")[: service.max_text_bytes].decode("utf-8", "ignore")
                t0 = time.perf_counter()
                result = comprehend.classify_document(Text=text, EndpointArn=endpoint["EndpointArn"])
                latencies.append((time.perf_counter() - t0) * 1000)
                ranked = result[key]
                top_scores.append(max((r["Score"] for r in ranked), default=0.0))
                if multi_label:
                    predicted.append([r["Name"] for r in ranked if r["Score"] >= 0.5])
                else:
                    predicted.append([ranked[0]["Name"]])
                if (i + 1) % 200 == 0:
                    log(f"classified {i + 1}/{len(test_texts)}")
            cpu_per_doc = (time.process_time() - cpu_classify) * 1000 / max(1, len(test_texts))
            load_classify = max(load_classify, _load())
            off_topic = [
                max(
                    (
                        r["Score"]
                        for r in comprehend.classify_document(Text=text, EndpointArn=endpoint["EndpointArn"])[
                            key
                        ]
                    ),
                    default=0.0,
                )
                for text in OFF_TOPIC
            ]
    quality = scores(test_labels, predicted, labels, multi_label)
    correct = [p == t for p, t in zip(predicted, test_labels, strict=True)]
    calibration = {
        "ece": None if multi_label else expected_calibration_error(top_scores, correct),
        "mean_top_score": round(sum(top_scores) / len(top_scores), 4),
        "off_topic": {
            "texts": len(OFF_TOPIC),
            "mean_top_score": round(sum(off_topic) / len(off_topic), 4),
            "below_0_5": round(sum(s < 0.5 for s in off_topic) / len(off_topic), 4),
        },
    }
    log(f"calibration: {calibration}")
    log(f"endpoint: {quality}, p50 {percentile(latencies, 50)} ms, p99 {percentile(latencies, 99)} ms")
    log("training the baseline (TF-IDF + logistic regression)")
    base = baseline(train_texts, train_labels, test_texts, test_labels, multi_label)
    log(f"baseline: {base}")
    return {
        "kind": "classifier",
        "train": str(train_path),
        "test": str(test_path),
        "mode": "multi-label" if multi_label else "multi-class",
        "documents": {"train": len(train_texts), "test": len(test_texts)},
        "labels": len(labels),
        **quality,
        "train_seconds": round(train_seconds, 2),
        "train_cpu_seconds": round(cpu, 2),
        "create_to_trained_seconds": round(wall, 2),
        "retrain_seconds": round(retrain_seconds, 2),
        "retrain_cpu_seconds": round(recpu, 2),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "classify_cpu_ms": round(cpu_per_doc, 2),
        "load": {"cpus": os.cpu_count(), "training": load_before, "classifying": load_classify},
        **calibration,
        "encoders": encoders_in_use(train_texts),
        "service_metrics": props["ClassifierMetadata"]["EvaluationMetrics"],
        "baseline": base,
    }


def _load() -> float:
    """The machine's 1-minute load average (the bench shares its cores with whatever else runs)."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else -1.0


def _train_classifier(
    comprehend: Any, config: dict[str, Any], version: str, multi_label: bool
) -> tuple[str, dict[str, Any], float, float]:
    """CreateDocumentClassifier, then poll until it ends → (arn, properties, wall seconds, CPU seconds of
    this process: the service trains in its threads, so this is the training's CPU time, all cores)."""
    from tqdm import tqdm  # the training's progress on stderr (a terminal only)

    started, cpu = time.perf_counter(), time.process_time()
    arn: str = comprehend.create_document_classifier(
        DocumentClassifierName="bench",
        VersionName=version,
        DataAccessRoleArn=ROLE,
        InputDataConfig=config,
        OutputDataConfig={"S3Uri": f"s3://{BUCKET}/output/"},
        LanguageCode="en",
        Mode="MULTI_LABEL" if multi_label else "MULTI_CLASS",
    )["DocumentClassifierArn"]
    with tqdm(desc=f"training {version}", bar_format="{desc}: {postfix} [{elapsed}]", disable=None) as bar:
        while True:
            props = comprehend.describe_document_classifier(DocumentClassifierArn=arn)[
                "DocumentClassifierProperties"
            ]
            bar.set_postfix_str(props["Status"])
            if props["Status"] not in ("SUBMITTED", "TRAINING"):
                break
            time.sleep(0.2)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if props["Status"] != "TRAINED":
        raise SystemExit(f"training ended {props['Status']}: {props.get('Message')}")
    return arn, props, wall, cpu


def _wait(describe: Any, busy: tuple[str, ...], interval: float = 0.2) -> dict[str, Any]:
    """Call ``describe()`` until its ``Status`` leaves ``busy``; the last properties."""
    while True:
        props: dict[str, Any] = describe()
        if props["Status"] not in busy:
            return props
        time.sleep(interval)


def run_entities(train_dir: Path, test_dir: Path, max_docs: int | None) -> dict[str, Any]:
    import boto3
    from comprehend_al.datasets.entities import Annotation
    from comprehend_al.entity_metrics import evaluate_entities
    from moto import mock_aws

    from local.comprehend import ComprehendService

    for folder in (train_dir, test_dir):
        for name in ("documents.txt", "annotations.csv"):
            if not (folder / name).is_file():
                raise SystemExit(f"{folder / name}: not found (needs documents.txt + annotations.csv)")
    from local.comprehend.engines.entities import read_folder

    train, test = read_folder(train_dir), read_folder(test_dir)
    train_docs, train_annotations = train.documents, train.annotations
    test_docs, test_annotations = test.documents, test.annotations
    if max_docs:
        test_docs = test_docs[:max_docs]
        test_annotations = [a for a in test_annotations if a.doc_index < max_docs]
    types = sorted({a.type for a in train_annotations})
    log(
        f"{len(train_docs)} training documents ({len(train_annotations)} entities), {len(test_docs)} test "
        f"documents ({len(test_annotations)} entities), types {', '.join(types)}"
    )

    with mock_aws(), tempfile.TemporaryDirectory(prefix="comprehend-bench-") as state:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        for split, folder in (("train", train_dir), ("test", test_dir)):
            for name in ("documents.txt", "annotations.csv"):
                s3.put_object(Bucket=BUCKET, Key=f"{split}/{name}", Body=(folder / name).read_bytes())
        with ComprehendService(Path(state), region=REGION) as service:
            comprehend: Any = local_client(
                boto3.client("comprehend", region_name=REGION, endpoint_url=service.url)
            )
            log(f"service at {service.url}; training")
            started, cpu = time.perf_counter(), time.process_time()
            arn = comprehend.create_entity_recognizer(
                RecognizerName="bench",
                VersionName="v1",
                DataAccessRoleArn=ROLE,
                LanguageCode="en",
                InputDataConfig={
                    "DataFormat": "COMPREHEND_CSV",
                    "EntityTypes": [{"Type": t} for t in types],
                    "Documents": {
                        "S3Uri": f"s3://{BUCKET}/train/documents.txt",
                        "TestS3Uri": f"s3://{BUCKET}/test/documents.txt",
                        "InputFormat": "ONE_DOC_PER_LINE",
                    },
                    "Annotations": {
                        "S3Uri": f"s3://{BUCKET}/train/annotations.csv",
                        "TestS3Uri": f"s3://{BUCKET}/test/annotations.csv",
                    },
                },
            )["EntityRecognizerArn"]
            props = _wait(
                lambda: comprehend.describe_entity_recognizer(EntityRecognizerArn=arn)[
                    "EntityRecognizerProperties"
                ],
                ("SUBMITTED", "TRAINING"),
            )
            train_seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            if props["Status"] not in ("TRAINED", "TRAINED_WITH_WARNING"):
                raise SystemExit(f"training ended {props['Status']}: {props.get('Message')}")
            service_seconds = (props["TrainingEndTime"] - props["TrainingStartTime"]).total_seconds()
            service_metrics = props["RecognizerMetadata"]["EvaluationMetrics"]
            log(
                f"trained: create → TRAINED {train_seconds:.1f} s, {cpu:.1f} s CPU "
                f"(service {service_seconds:.1f} s)"
            )
            log(f"service metrics: {service_metrics}")

            endpoint_arn = comprehend.create_endpoint(
                EndpointName="bench-entities", ModelArn=arn, DesiredInferenceUnits=1
            )["EndpointArn"]
            endpoint = _wait(
                lambda: comprehend.describe_endpoint(EndpointArn=endpoint_arn)["EndpointProperties"],
                ("CREATING", "UPDATING"),
                0.1,
            )
            if endpoint["Status"] != "IN_SERVICE":
                raise SystemExit(f"endpoint ended {endpoint['Status']}: {endpoint.get('Message')}")
            latencies: list[float] = []
            predicted: list[Annotation] = []
            for i, text in enumerate(test_docs):
                t0 = time.perf_counter()
                result = comprehend.detect_entities(Text=text, EndpointArn=endpoint_arn)
                latencies.append((time.perf_counter() - t0) * 1000)
                predicted.extend(
                    Annotation(i, e["BeginOffset"], e["EndOffset"], e["Type"]) for e in result["Entities"]
                )
                if (i + 1) % 500 == 0:
                    log(f"detected {i + 1}/{len(test_docs)}")
    metrics = evaluate_entities(test_annotations, predicted, documents=len(test_docs))
    quality = {
        "precision": round(metrics.Precision, 4),
        "recall": round(metrics.Recall, 4),
        "f1": round(metrics.F1Score, 4),
    }
    per_type = {t: round(m.F1Score, 4) for t, m in metrics.per_type.items()}
    log(f"endpoint: {quality}, per type {per_type}")
    log(f"p50 {percentile(latencies, 50)} ms, p99 {percentile(latencies, 99)} ms")
    return {
        "kind": "entities",
        "train": str(train_dir),
        "test": str(test_dir),
        "documents": {"train": len(train_docs), "test": len(test_docs)},
        "entities": {"train": len(train_annotations), "test": len(test_annotations)},
        "entity_types": types,
        **quality,
        "per_type_f1": per_type,
        "per_type": {
            t: {
                "precision": round(m.Precision, 4),
                "recall": round(m.Recall, 4),
                "f1": round(m.F1Score, 4),
                "support": m.support,
            }
            for t, m in metrics.per_type.items()
        },
        "train_seconds": round(train_seconds, 2),
        "service_train_seconds": round(service_seconds, 2),
        "train_cpu_seconds": round(cpu, 2),
        "load": {"cpus": os.cpu_count(), "after_training": _load()},
        "word_clusters": word_clusters_in_use(),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "service_metrics": service_metrics,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("classifier", "entities"), default="classifier")
    parser.add_argument(
        "--train",
        type=Path,
        required=True,
        help="training data: a Comprehend CSV file, or (entities) a folder: documents.txt + annotations.csv",
    )
    parser.add_argument("--test", type=Path, required=True, help="test data, in the same layout as --train")
    parser.add_argument("--mode", choices=("multi-class", "multi-label"), default="multi-class")
    parser.add_argument(
        "--max-docs", type=int, default=None, help="send at most this many test documents to the endpoint"
    )
    lines = parser.add_mutually_exclusive_group()  # model lines: local/bench_lines.py
    lines.add_argument("--langs", action="store_true", help="one model per detected language vs one for all")
    lines.add_argument("--hierarchy", action="store_true", help="PARENT/CHILD labels: nested vs flat models")
    args = parser.parse_args(argv)
    _fake_aws_environment()
    if args.langs or args.hierarchy:
        from local import bench_lines

        run = bench_lines.run_languages if args.langs else bench_lines.run_hierarchy
        result = run(args.train, args.test, args.max_docs)
    elif args.kind == "entities":
        result = run_entities(args.train, args.test, args.max_docs)
    else:
        result = run_classifier(args.train, args.test, args.mode == "multi-label", args.max_docs)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
