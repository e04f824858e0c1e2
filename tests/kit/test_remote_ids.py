"""Ids of other platforms in FieldBridge's API: strings out; a string or a JSON integer in."""

import pytest
from pydantic import BaseModel, ValidationError

from fieldbridge.kit.remote_ids import NumericRemoteId, RemoteId, numeric_order


class Filter(BaseModel):
    project_id: RemoteId | None = None


class Pick(BaseModel):
    company_id: NumericRemoteId


def test_a_remote_id_is_a_string_whether_sent_as_text_or_number() -> None:
    assert Filter(project_id=562949953421312).project_id == "562949953421312"  # type: ignore[arg-type]
    assert Filter.model_validate({"project_id": " b.1234-abcd "}).project_id == "b.1234-abcd"
    assert Filter.model_validate_json('{"project_id": 562949953421312}').model_dump() == {
        "project_id": "562949953421312"
    }


@pytest.mark.parametrize("bad", ["", "   ", "x" * 65, True, 1.5, [1]])
def test_a_remote_id_refuses_what_is_not_one(bad: object) -> None:
    with pytest.raises(ValidationError):
        Filter.model_validate({"project_id": bad})


def test_a_numeric_remote_id_is_canonical_digits() -> None:
    assert Pick.model_validate({"company_id": "0042"}).company_id == "42"
    assert Pick.model_validate({"company_id": 5000000001}).company_id == "5000000001"
    for bad in ("b.1234", "-5", "0", 0, "1" * 20):
        with pytest.raises(ValidationError):
            Pick.model_validate({"company_id": bad})


def test_numeric_order_keeps_numbers_in_number_order() -> None:
    ids = ["b.2", "10", "9", "100", "a.1"]
    assert sorted(ids, key=numeric_order) == ["9", "10", "100", "a.1", "b.2"]
