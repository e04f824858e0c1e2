"""Schemathesis against our own OpenAPI document: no generated input gets a 5xx.

Every operation of /api/v1 is called with generated parameters and bodies (valid and not), as an
API key holder of a seeded company. Ids mostly do not exist, so this proves that bad input and
unknown objects end in a 4xx with the JSON error shape, never a crash.
"""

from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase

from fieldbridge.app import create_app
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant_now


@pytest.fixture
def api_key_and_schema(settings: Settings) -> tuple[str, Any]:
    quiet = settings.model_copy(update={"runner": "none", "scheduler": False})

    tenant = create_tenant_now(quiet, "Fuzz")
    return tenant.api_key, schemathesis.openapi.from_asgi("/api/openapi.json", create_app(quiet))


SETTINGS = hypothesis.settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # report the first failure as found; shrinking is slow
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


def test_no_input_makes_a_server_error(api_key_and_schema: tuple[str, Any]) -> None:
    key, schema = api_key_and_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:

        @SETTINGS
        @hypothesis.given(case=operation.as_strategy())
        def call(case: Any) -> None:
            response = case.call(headers=bearer(key))
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where}: {response.text[:300]}"
            if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
                assert "error" in response.json(), f"{where}: error body without 'error'"

        call()
