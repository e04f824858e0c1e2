"""The CSP in a real browser: /api/docs renders Swagger UI from vendored files, and admin pages
(htmx included) run without a single CSP violation."""

from typing import Any

import pytest

from fieldbridge.settings import Settings
from tests.browser import live_fieldbridge, screenshot
from tests.factories import PASSWORD, create_tenant_now

pytestmark = pytest.mark.browser


def _watch(page: Any) -> tuple[list[str], list[str]]:
    """Console errors, and requests that left the server (a CDN would show here)."""
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.text} ({page.url})") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status == 404 else None)
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(page.base) else None)
    return errors, outside


def test_api_docs_and_admin_pages_render_without_csp_errors(browser: Any, settings: Settings) -> None:
    tenant = create_tenant_now(settings, "Csp")
    with live_fieldbridge(settings) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.base = base
        errors, outside = _watch(page)
        page.goto(f"{base}/api/docs")
        page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
        assert page.locator(".swagger-ui .info .title").inner_text().startswith("FieldBridge API")
        assert page.locator(".opblock-summary-path", has_text="/api/v1/workers").count() >= 1
        page.locator(".opblock-summary", has_text="/api/v1/workers").first.click()
        page.wait_for_selector(".opblock-body")
        screenshot(page, "api-docs")

        page.goto(f"{base}/signin?next=/settings/workers")
        page.fill("#email", tenant.admin.email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/settings/workers")
        page.goto(f"{base}/settings/integrations")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("[...document.styleSheets].every(s => s.href)"), "an inline <style> was added"
        assert [e for e in errors if "Content Security Policy" in e or "Refused" in e] == []
        assert errors == [], "\n".join(errors)
        assert outside == []
        assert page.evaluate("htmx.config.includeIndicatorStyles") is False
        page.close()
