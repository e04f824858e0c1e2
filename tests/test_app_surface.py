import httpx
from fastapi import FastAPI
from typer.testing import CliRunner

from fieldbridge.cli import app as cli_app


async def test_health_ready_metrics_and_docs(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    assert (await client.get("/readyz")).json() == {"status": "ready"}
    metrics = await client.get("/metrics")
    assert "fieldbridge_http_requests_total" in metrics.text
    spec = (await client.get("/api/openapi.json")).json()
    assert "/api/v1/workers" in spec["paths"]
    docs = await client.get("/api/docs")
    assert docs.status_code == 200


async def test_html_pages_carry_security_headers(client: httpx.AsyncClient) -> None:
    page = await client.get("/signin")
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_unknown_html_page_is_a_friendly_404(client: httpx.AsyncClient) -> None:
    page = await client.get("/nowhere", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "Not found" in page.text


async def test_admin_pages_redirect_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/settings/workers", headers={"accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=/settings/workers")


def test_every_cli_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(cli_app, ["--help"])
    assert top.exit_code == 0
    for command in ("serve", "demo", "db", "bench"):
        assert command in top.output
        result = runner.invoke(cli_app, [command, "--help"])
        assert result.exit_code == 0, result.output


async def test_the_phone_routes_are_matched_first_and_still_refuse_other_methods(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from fieldbridge.app import HOT_PATHS

    leading = {getattr(r, "path", None) for r in app.router.routes[: len(HOT_PATHS)]}
    assert leading == HOT_PATHS
    assert (await client.get("/api/v1/time/clock-in")).status_code == 405
    refused = await client.post("/api/v1/time/clock-in", json={})
    assert refused.status_code == 401  # the route itself answers: no credential
