"""Annotation of entity documents by people: agreement, gold quality control, adjudication, audit, batches.

The flow (docs/annotation.md): an entity human loop (``"kind": "entities"``) is answered by N workers;
:func:`~comprehend_al.annotation.process.process_annotation` scores their gold answers, accepts agreeing
documents, sends the rest to one adjudication loop, audits every action and writes accepted documents as
an entity batch under ``train/new/``. :func:`~comprehend_al.annotation.quality.report` gives a set of loops'
per-annotator figures.
"""

from comprehend_al.annotation.agreement import cohen_kappa, document_agreement, span_f1, type_kappa
from comprehend_al.annotation.gold import GoldSet, mix_gold
from comprehend_al.annotation.process import AnnotationDeps, process_annotation
from comprehend_al.annotation.quality import report
from comprehend_al.annotation.spans import Span, parse_answers, parse_spans

__all__ = [
    "AnnotationDeps",
    "GoldSet",
    "Span",
    "cohen_kappa",
    "document_agreement",
    "mix_gold",
    "parse_answers",
    "parse_spans",
    "process_annotation",
    "report",
    "span_f1",
    "type_kappa",
]
