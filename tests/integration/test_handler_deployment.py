"""StartEndpoint, GetEndpointStatus, PromoteModel, DeleteEndpoint: the promoted model goes into service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from comprehend_al.errors import EndpointFailed
from comprehend_al.models import ModelKind

from tests.fakes import ACCOUNT

if TYPE_CHECKING:
    from tests.integration.conftest import Stack

VERSION = "v20261123-120501-ab12cd"  # the challenger of the sample events
OLD_VERSION = "v20261101-093012-9e8f7a"  # the champion it replaces
MODELS = f"arn:aws:comprehend:us-east-1:{ACCOUNT}:document-classifier/comprehend-al-classifier/version"
ENDPOINTS = f"arn:aws:comprehend:us-east-1:{ACCOUNT}:document-classifier-endpoint"
NEW_MODEL, OLD_MODEL = f"{MODELS}/{VERSION}", f"{MODELS}/{OLD_VERSION}"
NEW_ENDPOINT = f"{ENDPOINTS}/comprehend-al-clf-20261123120501ab12cd"
OLD_ENDPOINT = f"{ENDPOINTS}/comprehend-al-clf-202611010930129e8f7a"


def with_champion(stack: Stack) -> None:
    """The old model is active behind the old endpoint (SSM pointers, registry, Comprehend)."""
    stack.set_param("classifier/active-model-arn", OLD_MODEL)
    stack.set_param("classifier/active-endpoint-arn", OLD_ENDPOINT)
    stack.fake.add_classifier(OLD_MODEL)
    stack.fake.add_endpoint(OLD_ENDPOINT, OLD_MODEL)
    stack.deps.registry.put_model(
        ModelKind.CLASSIFIER, OLD_VERSION, status="active", model_arn=OLD_MODEL, endpoint_arn=OLD_ENDPOINT
    )


# --- StartEndpoint -------------------------------------------------------------------------------------
@pytest.fixture
def trained(stack: Stack) -> dict[str, Any]:
    """The sample StartEndpoint event: the new model is trained (and selected)."""
    stack.fake.add_classifier(NEW_MODEL)
    stack.deps.registry.put_model(ModelKind.CLASSIFIER, VERSION, status="trained", model_arn=NEW_MODEL)
    return stack.event("start_endpoint", "trained.json")


def test_start_endpoint_new_endpoint_creates_one_for_the_new_model(
    stack: Stack, trained: dict[str, Any]
) -> None:
    """Given NEW_ENDPOINT and an active endpoint, when StartEndpoint is called,
    then a new endpoint serving the new model is created (the old one is remembered, not touched)."""
    with_champion(stack)

    result = stack.invoke("start_endpoint", trained)

    [request] = stack.fake.calls_to("CreateEndpoint")
    assert request["ModelArn"] == NEW_MODEL
    assert request["DesiredInferenceUnits"] == 1
    assert result["created"] is True
    assert result["endpoint_arn"] in stack.fake.endpoints
    assert result["previous_endpoint_arn"] == OLD_ENDPOINT
    assert stack.fake.calls_to("UpdateEndpoint") == []
    item = stack.deps.registry.model(ModelKind.CLASSIFIER, VERSION)
    assert item is not None and item.endpoint_arn == result["endpoint_arn"]


def test_start_endpoint_update_in_place_updates_the_active_endpoint(
    stack: Stack, trained: dict[str, Any]
) -> None:
    """Given UPDATE_IN_PLACE and an active endpoint, when StartEndpoint is called,
    then the active endpoint is told to serve the new model, and no endpoint is created."""
    stack.configure(DEPLOYMENT_STRATEGY="UPDATE_IN_PLACE")
    with_champion(stack)

    result = stack.invoke("start_endpoint", trained)

    assert stack.fake.calls_to("UpdateEndpoint") == [
        {"EndpointArn": OLD_ENDPOINT, "DesiredModelArn": NEW_MODEL}
    ]
    assert stack.fake.calls_to("CreateEndpoint") == []
    assert (result["endpoint_arn"], result["created"], result["strategy"]) == (
        OLD_ENDPOINT,
        False,
        "UPDATE_IN_PLACE",
    )


def test_start_endpoint_update_in_place_without_endpoint_creates_one(
    stack: Stack, trained: dict[str, Any]
) -> None:
    """Given UPDATE_IN_PLACE but no active endpoint yet (the first model), when StartEndpoint is called,
    then an endpoint is created."""
    stack.configure(DEPLOYMENT_STRATEGY="UPDATE_IN_PLACE")

    result = stack.invoke("start_endpoint", trained)

    assert result["created"] is True
    assert [r["ModelArn"] for r in stack.fake.calls_to("CreateEndpoint")] == [NEW_MODEL]


# --- GetEndpointStatus ---------------------------------------------------------------------------------
@pytest.fixture
def creating(stack: Stack) -> dict[str, Any]:
    """The sample poll of an endpoint this run created."""
    stack.fake.add_classifier(NEW_MODEL)
    stack.fake.add_endpoint(NEW_ENDPOINT, NEW_MODEL)
    return stack.event("get_endpoint_status", "creating.json")


def test_get_endpoint_status_creating_is_not_done_and_counts_the_attempt(
    stack: Stack, creating: dict[str, Any]
) -> None:
    """Given the endpoint is CREATING, when GetEndpointStatus polls it,
    then it is not done and the attempt count goes up by one."""
    stack.fake.endpoint_status = "CREATING"

    result = stack.invoke("get_endpoint_status", creating)

    assert result["done"] is False
    assert result["status"] == "CREATING"
    assert result["attempt"] == creating["endpoint"]["attempt"] + 1


def test_get_endpoint_status_in_service_is_done(stack: Stack, creating: dict[str, Any]) -> None:
    """Given the endpoint is IN_SERVICE with the new model, when GetEndpointStatus polls it,
    then it is done."""
    stack.fake.endpoint_status = "IN_SERVICE"

    result = stack.invoke("get_endpoint_status", creating)

    assert result["done"] is True
    assert result["status"] == "IN_SERVICE"


def test_get_endpoint_status_failed_raises_endpoint_failed(stack: Stack, creating: dict[str, Any]) -> None:
    """Given the endpoint ended FAILED, when GetEndpointStatus polls it,
    then it raises EndpointFailed with Comprehend's message."""
    stack.fake.endpoint_status = "FAILED"
    stack.fake.endpoint_message = "ResourceLimitExceeded: inference units"

    with pytest.raises(EndpointFailed, match="FAILED: ResourceLimitExceeded: inference units"):
        stack.invoke("get_endpoint_status", creating)


# --- PromoteModel --------------------------------------------------------------------------------------
@pytest.fixture
def in_service(stack: Stack) -> dict[str, Any]:
    """The sample PromoteModel event (a new endpoint in service), the old model still active."""
    with_champion(stack)
    stack.deps.registry.put_model(ModelKind.CLASSIFIER, VERSION, status="trained", model_arn=NEW_MODEL)
    return stack.event("promote_model", "in_service.json")


def test_promote_model_points_ssm_at_the_new_model_and_endpoint(
    stack: Stack, in_service: dict[str, Any]
) -> None:
    """Given the new endpoint is in service, when PromoteModel is called,
    then the SSM pointers name the new model and the new endpoint."""
    stack.invoke("promote_model", in_service)

    assert (stack.active().model_arn, stack.active().endpoint_arn) == (NEW_MODEL, NEW_ENDPOINT)


def test_promote_model_retires_the_previous_version(stack: Stack, in_service: dict[str, Any]) -> None:
    """Given an active previous version, when PromoteModel is called,
    then the registry marks the new version active and the previous one retired."""
    stack.invoke("promote_model", in_service)

    new = stack.deps.registry.model(ModelKind.CLASSIFIER, VERSION)
    old = stack.deps.registry.model(ModelKind.CLASSIFIER, OLD_VERSION)
    assert new is not None and new.status == "active"
    assert old is not None and old.status == "retired"
    assert old.reason == f"replaced by {VERSION}"


def test_promote_model_new_endpoint_marks_the_old_endpoint_for_deletion(
    stack: Stack, in_service: dict[str, Any]
) -> None:
    """Given a new endpoint replaced the old one, when PromoteModel is called,
    then the old endpoint is named for deletion."""
    result = stack.invoke("promote_model", in_service)

    assert result["endpoint_to_delete"] == OLD_ENDPOINT


def test_promote_model_update_in_place_deletes_no_endpoint(stack: Stack, in_service: dict[str, Any]) -> None:
    """Given the active endpoint was updated in place, when PromoteModel is called,
    then no endpoint is named for deletion (it is the one now serving the new model)."""
    in_service["endpoint"].update(
        endpoint_arn=OLD_ENDPOINT,
        strategy="UPDATE_IN_PLACE",
        created=False,
        previous_endpoint_arn=OLD_ENDPOINT,
    )

    result = stack.invoke("promote_model", in_service)

    assert result["endpoint_to_delete"] is None
    assert stack.active().endpoint_arn == OLD_ENDPOINT


# --- DeleteEndpoint ------------------------------------------------------------------------------------
@pytest.fixture
def replaced(stack: Stack) -> dict[str, Any]:
    """The sample DeleteEndpoint event: the old endpoint still exists, its model is in the registry."""
    stack.fake.add_classifier(OLD_MODEL)
    stack.fake.add_endpoint(OLD_ENDPOINT, OLD_MODEL)
    stack.deps.registry.put_model(
        ModelKind.CLASSIFIER, OLD_VERSION, status="retired", model_arn=OLD_MODEL, endpoint_arn=OLD_ENDPOINT
    )
    return stack.event("delete_endpoint", "replaced.json")


def test_delete_endpoint_deletes_the_replaced_endpoint(stack: Stack, replaced: dict[str, Any]) -> None:
    """Given the old endpoint exists, when DeleteEndpoint is called,
    then it is deleted and the retired version no longer names an endpoint."""
    result = stack.invoke("delete_endpoint", replaced)

    assert result == {"deleted": OLD_ENDPOINT, "existed": True}
    assert OLD_ENDPOINT not in stack.fake.endpoints
    old = stack.deps.registry.model(ModelKind.CLASSIFIER, OLD_VERSION)
    assert old is not None and old.endpoint_arn is None


def test_delete_endpoint_already_gone_is_fine(stack: Stack, replaced: dict[str, Any]) -> None:
    """Given the old endpoint was already deleted (e.g. a retried step), when DeleteEndpoint is called,
    then it succeeds and says the endpoint did not exist."""
    del stack.fake.endpoints[OLD_ENDPOINT]

    result = stack.invoke("delete_endpoint", replaced)

    assert result == {"deleted": OLD_ENDPOINT, "existed": False}


def test_delete_endpoint_with_nothing_to_delete_calls_nothing(stack: Stack, replaced: dict[str, Any]) -> None:
    """Given the promotion named no endpoint to delete, when DeleteEndpoint is called,
    then no endpoint is deleted."""
    replaced["promotion"]["endpoint_to_delete"] = None

    result = stack.invoke("delete_endpoint", replaced)

    assert result == {"deleted": None}
    assert stack.fake.calls_to("DeleteEndpoint") == []
    assert OLD_ENDPOINT in stack.fake.endpoints
