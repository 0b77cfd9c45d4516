"""The local services' error classes come from their tables: one class per code, with its status and shape."""

from __future__ import annotations

import pytest

from local.a2i import errors as a2i_errors
from local.comprehend import errors as comprehend_errors


@pytest.mark.parametrize("code, status", sorted(comprehend_errors.STATUS_BY_CODE.items()))
def test_each_comprehend_code_is_a_class_with_its_status_and_json_1_1_body(code: str, status: int) -> None:
    cls = getattr(comprehend_errors, code)

    error = cls("went wrong")

    assert cls.__name__ == code and issubclass(cls, comprehend_errors.ComprehendError)
    assert (error.status, error.body()) == (status, {"__type": code, "message": "went wrong"})


@pytest.mark.parametrize("code, status", sorted(a2i_errors.STATUS_BY_CODE.items()))
def test_each_a2i_code_is_a_class_with_its_status_and_rest_json_body(code: str, status: int) -> None:
    cls = getattr(a2i_errors, code)

    error = cls("went wrong")

    assert cls.__name__ == code and issubclass(cls, a2i_errors.A2IError)
    assert (error.code, error.status, error.body()) == (code, status, {"Message": "went wrong"})


def test_an_error_class_is_importable_by_name() -> None:
    from local.a2i import ValidationException
    from local.comprehend.errors import InvalidRequestException

    assert ValidationException is a2i_errors.ERRORS["ValidationException"]
    assert InvalidRequestException is comprehend_errors.ERRORS_BY_CODE["InvalidRequestException"]


def test_a_name_outside_the_table_is_not_an_attribute() -> None:
    with pytest.raises(AttributeError):
        _ = comprehend_errors.NoSuchException


def test_an_unknown_comprehend_code_keeps_its_code_with_status_400() -> None:
    error = comprehend_errors.error_for_code("KmsKeyValidationException", "bad key")

    assert error.status == 400
    assert error.body() == {"__type": "KmsKeyValidationException", "message": "bad key"}
