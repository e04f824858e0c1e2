"""Inputs that used to end in a 500 (or a vague 400) get a 4xx that says what to fix.

NUL characters (PostgreSQL cannot store them), JSON nested 50,000 deep (a RecursionError), and a
streamed body over the limit (a parse error instead of 413).
"""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from fieldbridge.connections.models import Connection
from fieldbridge.kit.crypto import token_digest
from fieldbridge.kit.db import Database
from fieldbridge.kit.errors import BadRequest, Unprocessable
from fieldbridge.kit.inputs import MAX_JSON_DEPTH, check_json, load_json
from fieldbridge.settings import Settings
from tests.factories import PASSWORD, bearer, create_tenant, sign_in_browser

DEEP = b"[" * 50_000 + b"]" * 50_000


def _nested(levels: int) -> bytes:
    return b'{"a":' * (levels - 1) + b"[1]" + b"}" * (levels - 1)


def test_json_depth_up_to_the_limit_passes_and_one_more_is_refused() -> None:
    assert load_json(_nested(MAX_JSON_DEPTH))["a"]["a"]
    with pytest.raises(BadRequest) as deeper:
        check_json(_nested(MAX_JSON_DEPTH + 1))
    assert deeper.value.code == "json_too_deep"
    with pytest.raises(BadRequest):
        check_json(DEEP)
    check_json(b"[" * 100 + b"not json")  # the parser after this says what is wrong
    check_json(b'["' + b"[" * 500 + b'"]')  # brackets inside a string are text


def test_nul_is_found_in_strings_and_keys_but_an_escaped_backslash_is_text() -> None:
    check_json(b'{"name": "C:\\\\u0000dir"}')
    with pytest.raises(Unprocessable) as found:
        check_json(b'{"name": "A\\u0000B", "tags": ["ok", "x\\u0000"], "k\\u0000": 1}')
    assert [d["field"] for d in found.value.details] == ["body.k\\u0000", "body.name", "body.tags.1"]
    assert found.value.message.startswith("body.k\\u0000: text may not contain a NUL character")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16", "utf-32"])
def test_nul_is_found_in_json_sent_in_utf_16_or_32(encoding: str) -> None:
    """The parsers read these encodings too, so the NUL check must (it looked for UTF-8 bytes)."""
    check_json('{"name": "Ærø"}'.encode(encoding))
    with pytest.raises(Unprocessable) as found:
        check_json('{"name": "A\\u0000B"}'.encode(encoding))
    assert [d["field"] for d in found.value.details] == ["body.name"]


async def _webhook_connection(db: Database, company_id: int) -> int:
    async with db.transaction() as session:
        connection = Connection(
            company_id=company_id,
            provider="procore",
            label="Hooks",
            status="connected",
            config={"webhook_token_digest": token_digest("hook-secret")},
        )
        session.add(connection)
        await session.flush()
        return connection.id


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
async def test_deep_json_to_the_webhook_receiver_is_a_400(
    client: httpx.AsyncClient, db: Database, settings: Settings, content_type: str
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id = await _webhook_connection(db, tenant.company.id)
    headers = {"Authorization": "Bearer hook-secret", "content-type": content_type}
    url = f"/api/v1/webhooks/procore/{connection_id}"
    response = await client.post(url, content=DEEP, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "json_too_deep"
    nul = await client.post(url, content=b'{"ulid": "01J\\u0000X"}', headers=headers)
    assert nul.status_code == 422, nul.text
    assert nul.json()["error"]["details"] == [{"field": "body.ulid", "problem": "contains a NUL character"}]


async def test_deep_json_to_any_route_is_a_400_that_says_so(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    response = await client.post(
        "/api/v1/workers",
        content=DEEP,
        headers={**bearer(tenant.api_key), "content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "json_too_deep"
    assert str(MAX_JSON_DEPTH) in response.json()["error"]["message"]


async def test_a_streamed_body_over_the_limit_is_a_413(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)

    def chunks(limit: int) -> AsyncIterator[bytes]:
        async def stream() -> AsyncIterator[bytes]:
            for _ in range(limit // 65_536 + 2):
                yield b"x" * 65_536

        return stream()

    for path, content_type, limit in [
        ("/api/v1/workers", "application/json", settings.max_body_bytes),
        ("/api/v1/workers/import", "text/csv", settings.max_upload_bytes),
    ]:
        response = await client.post(
            path, content=chunks(limit), headers={**bearer(tenant.api_key), "content-type": content_type}
        )
        assert "content-length" not in response.request.headers
        assert response.status_code == 413, f"{path}: {response.text}"
        assert response.json()["error"]["code"] == "payload_too_large"
        assert str(limit) in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("request_args", "field"),
    [
        ({"method": "POST", "url": "/api/v1/workers", "json": {"name": "A\x00B"}}, "body.name"),
        ({"method": "GET", "url": "/api/v1/workers", "params": {"q": "a\x00"}}, "query.q"),
        ({"method": "GET", "url": "/api/v1/workers/1%00"}, "path"),
    ],
)
async def test_nul_in_api_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, db: Database, settings: Settings, request_args: dict[str, Any], field: str
) -> None:
    tenant = await create_tenant(db, settings)
    response = await client.request(**request_args, headers=bearer(tenant.api_key))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "nul_character"
    assert error["message"].startswith(f"{field}: text may not contain a NUL character")


async def test_nul_in_the_unauthenticated_worker_sign_in_is_a_422(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    response = await client.post(
        "/api/v1/auth/worker-sign-in", json={"company_code": tenant.company.code + "\x00", "pin": "1234"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "body.company_code"


async def test_nul_in_admin_form_fields_is_refused_on_the_error_page(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    csrf = await sign_in_browser(client, tenant.admin.email, PASSWORD)
    form = await client.post("/settings/workers", data={"csrf_token": csrf, "name": "Nul\x00Name"})
    assert form.status_code == 422, form.text
    assert "text/html" in form.headers["content-type"]
    assert "form.name: text may not contain a NUL character" in form.text
    multipart = await client.post(
        "/settings/workers/import",
        data={"csrf_token": csrf, "note": "x\x00"},
        files={"file": ("w.csv", b"name\nAnn\n", "text/csv")},
    )
    assert multipart.status_code == 422, multipart.text
    assert "form.note: text may not contain a NUL character" in multipart.text
    listed = await client.get("/api/v1/workers", headers=bearer(tenant.api_key))
    assert [w["name"] for w in listed.json()["items"]] == [tenant.worker.name]


def test_a_wide_body_is_checked_for_depth_without_parsing() -> None:
    """A batch of 1,000 objects has far more brackets than the depth limit but is 3 deep: the
    bracket skeleton says so (strings with brackets in them do not count)."""
    from fieldbridge.kit.inputs import _within_depth

    wide = json.dumps({"events": [{"a": [1, {"b": "x[{"}], "c": 'q\\"['} for _ in range(1000)]}).encode()
    assert _within_depth(wide)
    check_json(wide)
    assert _within_depth(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    too_deep = b'{"a":' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}"
    assert not _within_depth(too_deep)
    with pytest.raises(BadRequest):
        check_json(too_deep)
    wide_then_deep = b"[" + b"[1]," * 100 + b"[" * 70 + b"]" * 70 + b"]"
    with pytest.raises(BadRequest):
        check_json(wide_then_deep)
