"""Benchmark the local Comprehend service end to end, against a plain TF-IDF + logistic regression baseline.

    python -m local.bench --train data/ag_news/train.csv --test data/ag_news/dev.csv [--mode multi-label]

Inside moto's ``mock_aws`` (S3 only), it starts the service on loopback, uploads the two CSV files, trains a
classifier through boto3 over HTTP (``TestS3Uri`` = the test file), creates an endpoint, classifies every
test document with ``ClassifyDocument`` (latency measured around the boto3 call) and trains the baseline on
the same data in the same process. Progress goes to stderr; the last line of stdout is one JSON object.
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
            comprehend: Any = boto3.client("comprehend", region_name=REGION, endpoint_url=service.url)
            log(f"service at {service.url}; training")
            config: dict[str, Any] = {
                "S3Uri": f"s3://{BUCKET}/train.csv",
                "TestS3Uri": f"s3://{BUCKET}/test.csv",
                "DataFormat": "COMPREHEND_CSV",
            }
            if multi_label:
                config["LabelDelimiter"] = "|"
            started = time.perf_counter()
            arn = comprehend.create_document_classifier(
                DocumentClassifierName="bench",
                VersionName="v1",
                DataAccessRoleArn=ROLE,
                InputDataConfig=config,
                OutputDataConfig={"S3Uri": f"s3://{BUCKET}/output/"},
                LanguageCode="en",
                Mode="MULTI_LABEL" if multi_label else "MULTI_CLASS",
            )["DocumentClassifierArn"]
            while True:
                props = comprehend.describe_document_classifier(DocumentClassifierArn=arn)[
                    "DocumentClassifierProperties"
                ]
                if props["Status"] not in ("SUBMITTED", "TRAINING"):
                    break
                time.sleep(0.2)
            wall = time.perf_counter() - started
            if props["Status"] != "TRAINED":
                raise SystemExit(f"training ended {props['Status']}: {props.get('Message')}")
            train_seconds = (props["TrainingEndTime"] - props["TrainingStartTime"]).total_seconds()
            log(f"trained in {train_seconds:.1f} s (create → TRAINED {wall:.1f} s)")
            log(f"service metrics: {props['ClassifierMetadata']['EvaluationMetrics']}")

            endpoint = comprehend.create_endpoint(EndpointName="bench", ModelArn=arn, DesiredInferenceUnits=1)
            while comprehend.describe_endpoint(EndpointArn=endpoint["EndpointArn"])["EndpointProperties"][
                "Status"
            ] not in ("IN_SERVICE", "FAILED"):
                time.sleep(0.1)
            key = "Labels" if multi_label else "Classes"
            latencies: list[float] = []
            predicted: list[list[str]] = []
            for i, text in enumerate(test_texts):
                text = text.encode("utf-8")[: service.max_text_bytes].decode("utf-8", "ignore")
                t0 = time.perf_counter()
                result = comprehend.classify_document(Text=text, EndpointArn=endpoint["EndpointArn"])
                latencies.append((time.perf_counter() - t0) * 1000)
                ranked = result[key]
                if multi_label:
                    predicted.append([r["Name"] for r in ranked if r["Score"] >= 0.5])
                else:
                    predicted.append([ranked[0]["Name"]])
                if (i + 1) % 200 == 0:
                    log(f"classified {i + 1}/{len(test_texts)}")
    quality = scores(test_labels, predicted, labels, multi_label)
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
        "create_to_trained_seconds": round(wall, 2),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "service_metrics": props["ClassifierMetadata"]["EvaluationMetrics"],
        "baseline": base,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("classifier", "entities"), default="classifier")
    parser.add_argument("--train", type=Path, required=True, help="training data (Comprehend CSV)")
    parser.add_argument("--test", type=Path, required=True, help="test data (Comprehend CSV)")
    parser.add_argument("--mode", choices=("multi-class", "multi-label"), default="multi-class")
    parser.add_argument(
        "--max-docs", type=int, default=None, help="classify at most this many test documents"
    )
    args = parser.parse_args(argv)
    _fake_aws_environment()
    if args.kind == "entities":
        raise NotImplementedError("the entity-recognizer benchmark belongs to the entities module")
    result = run_classifier(args.train, args.test, args.mode == "multi-label", args.max_docs)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
