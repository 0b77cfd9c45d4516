"""The model lifecycle, one module per phase; each state machine step is one function here.

Every function takes the parts of the run state it needs and a :class:`Deps` holding the adapters, so the
whole lifecycle is testable with moto or fakes, and both model kinds share one implementation. The
handlers (``functions/<step>/app.py``) import the step functions from this package and their ``Deps``
from :mod:`comprehend_al.wiring`.
"""

from comprehend_al.lifecycle.batches import change_batch
from comprehend_al.lifecycle.deploy import (
    delete_old_endpoint,
    endpoint_name,
    get_endpoint_status,
    promote_model,
    start_endpoint,
)
from comprehend_al.lifecycle.deps import Deps
from comprehend_al.lifecycle.evaluate import evaluate_model, get_job_status, start_test_job
from comprehend_al.lifecycle.finish import finish_run, handle_failure, preparation_failed
from comprehend_al.lifecycle.guard import guard_batches
from comprehend_al.lifecycle.prepare import prepare_training_data
from comprehend_al.lifecycle.reconcile import ReconcileReport, reconcile
from comprehend_al.lifecycle.rollback import finish_rollback, rollback_failed, start_rollback
from comprehend_al.lifecycle.select import model_selection
from comprehend_al.lifecycle.train import get_model_status, start_model_building

__all__ = [
    "Deps",
    "ReconcileReport",
    "change_batch",
    "delete_old_endpoint",
    "endpoint_name",
    "evaluate_model",
    "finish_rollback",
    "finish_run",
    "get_endpoint_status",
    "get_job_status",
    "get_model_status",
    "guard_batches",
    "handle_failure",
    "model_selection",
    "preparation_failed",
    "prepare_training_data",
    "promote_model",
    "reconcile",
    "rollback_failed",
    "start_endpoint",
    "start_model_building",
    "start_rollback",
    "start_test_job",
]
