"""The public surface: /metrics behind a token, HSTS over https, vendored API docs under the CSP,
and FIELDBRIDGE_BASE_URL checked against the address `serve` binds."""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from fieldbridge.app import create_app
from fieldbridge.cli import app as cli_app
from fieldbridge.kit.db import Database
from fieldbridge.settings import Environment, Settings, check_base_url

PROD_KEY = "p" * 40


async def _client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    await app.state.db.dispose()
    app.state.db = db
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


def _variant(settings: Settings, **changes: object) -> Settings:
    return Settings(**{**settings.model_dump(exclude_unset=True), **changes})


async def test_metrics_need_the_token_when_one_is_set(settings: Settings, db: Database) -> None:
    guarded = _variant(settings, metrics_token=SecretStr("m" * 32))
    async for client in _client(guarded, db):
        missing = await client.get("/metrics")
        assert missing.status_code == 401
        assert "FIELDBRIDGE_METRICS_TOKEN" in missing.json()["error"]["message"]
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 32})
        assert wrong.status_code == 401
        right = await client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})
        assert right.status_code == 200
        assert "fieldbridge_http_requests_total" in right.text


async def test_metrics_without_a_token_are_404_in_production(settings: Settings, db: Database) -> None:
    production = _variant(settings, env=Environment.production, secret_key=SecretStr(PROD_KEY))
    async for client in _client(production, db):
        response = await client.get("/metrics")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_hsts_and_secure_cookies_only_over_https(settings: Settings, db: Database) -> None:
    async for client in _client(settings, db):
        assert "strict-transport-security" not in (await client.get("/signin")).headers
    https = _variant(settings, base_url="https://fieldbridge.example.com")
    async for client in _client(https, db):
        page = await client.get("/signin")
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        assert (await client.get("/healthz")).headers["strict-transport-security"]


async def test_api_docs_are_vendored_and_under_the_csp(client: httpx.AsyncClient) -> None:
    docs = await client.get("/api/docs")
    assert docs.status_code == 200
    assert "default-src 'self'" in docs.headers["content-security-policy"]
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    assert "cdn" not in docs.text.lower()
    assert "<script>" not in docs.text  # nothing inline: the CSP would refuse it
    for asset in ("/static/swagger/swagger-ui-bundle.js", "/static/swagger/swagger-ui.css"):
        assert asset in docs.text
        assert (await client.get(asset)).status_code == 200
    signin = await client.get("/signin")
    assert '"includeIndicatorStyles": false' in signin.text


def _check(env: Environment, host: str, port: int, **values: str) -> tuple[list[str], list[str]]:
    settings = Settings(env=env, secret_key=SecretStr(PROD_KEY), **values)  # type: ignore[arg-type]
    found = check_base_url(settings, host, port)
    return found.errors, found.warnings


def test_base_url_must_be_set_in_production() -> None:
    errors, _ = _check(Environment.production, "0.0.0.0", 8000)
    assert errors
    assert "FIELDBRIDGE_BASE_URL is not set" in errors[0]
    errors, warnings = _check(Environment.production, "0.0.0.0", 8000, base_url="https://fb.example.com")
    assert (errors, warnings) == ([], [])


def test_base_url_on_another_port_is_named_with_the_fix() -> None:
    errors, _ = _check(Environment.production, "127.0.0.1", 9000, base_url="http://127.0.0.1:8000")
    assert "FIELDBRIDGE_BASE_URL=http://127.0.0.1:9000" in errors[0]
    errors, warnings = _check(Environment.dev, "127.0.0.1", 9000)  # the default, left alone
    assert errors == []
    assert "FIELDBRIDGE_BASE_URL=http://127.0.0.1:9000" in warnings[0]
    assert _check(Environment.dev, "127.0.0.1", 8000) == ([], [])


def test_plain_http_base_url_in_production_warns_about_cookies() -> None:
    errors, warnings = _check(Environment.production, "0.0.0.0", 8000, base_url="http://fb.example.com")
    assert errors == []
    assert any("not marked Secure" in w for w in warnings)


@pytest.mark.parametrize("bad", ["fb.example.com", "ftp://fb.example.com", "https://fb.example.com:99999"])
def test_base_url_that_is_not_a_url_is_refused(bad: str) -> None:
    errors, _ = _check(Environment.dev, "127.0.0.1", 8000, base_url=bad)
    assert "is not an http(s) URL" in errors[0]


def test_serve_refuses_to_start_without_a_base_url_in_production(tmp_path: Path) -> None:
    env = {
        "FIELDBRIDGE_ENV": "production",
        "FIELDBRIDGE_SECRET_KEY": PROD_KEY,
        "FIELDBRIDGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'never.db'}",
        "FIELDBRIDGE_BASE_URL": None,
    }
    result = CliRunner().invoke(cli_app, ["serve", "--port", "9123"], env=env)  # type: ignore[arg-type]
    assert result.exit_code == 2
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["event"] == "settings.base_url_refused"
    assert "FIELDBRIDGE_BASE_URL is not set" in line["problem"]
    assert not (tmp_path / "never.db").exists()  # refused before touching the database
