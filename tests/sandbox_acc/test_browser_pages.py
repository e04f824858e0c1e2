"""The ACC sandbox's own pages in a real browser: the APS consent page (PKCE) and the issue page
where a person closes an issue, which fires a signed issue.updated webhook."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from fieldbridge_sandbox_acc.seeds import DEMO_CLIENT_ID
from tests.browser import screenshot, serve_in_thread
from tests.sandbox_acc.conftest import ISSUES, SCOPES, Receiver, basic, pkce_pair

pytestmark = pytest.mark.browser


def _callback_app() -> Starlette:
    async def callback(request: Request) -> HTMLResponse:
        return HTMLResponse(f"<p id='code'>{request.query_params.get('code', '')}</p>")

    return Starlette(routes=[Route("/callback", callback)])


def test_consent_page_then_closing_an_issue_on_the_issue_page(
    browser: Any, acc_url: str, receiver_url: tuple[str, Receiver]
) -> None:
    hook_url, receiver = receiver_url
    receiver.calls.clear()
    with httpx.Client(base_url=acc_url, timeout=10) as acc, serve_in_thread(_callback_app()) as app_base:
        acc.post("/_sandbox/reset", json={"seed": "demo"})
        ids = acc.get("/_sandbox/ids").json()
        riverside = next(p for p in ids["projects"] if p["name"] == "Riverside Medical Office")
        verifier, challenge = pkce_pair()
        query = {
            "client_id": DEMO_CLIENT_ID,
            "response_type": "code",
            "redirect_uri": f"{app_base}/callback",
            "scope": SCOPES,
            "state": "xyz",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.goto(f"{acc_url}/authentication/v2/authorize?{urlencode(query)}")
        assert "data:write" in page.inner_text("body")
        page.check("text=Avery Admin")
        screenshot(page, "acc-sandbox-consent")
        page.click("#allow")
        page.wait_for_url(f"{app_base}/callback*")
        sent = parse_qs(urlsplit(page.url).query)
        assert sent["state"] == ["xyz"]
        token = acc.post(
            "/authentication/v2/token",
            data={
                "grant_type": "authorization_code",
                "code": sent["code"][0],
                "redirect_uri": f"{app_base}/callback",
                "code_verifier": verifier,
            },
            headers=basic(),
        ).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        pid = riverside["acc_project_id"]
        hook = {"callbackUrl": hook_url, "scope": {"project": pid}, "token": "page-test-secret-0123456789"}
        created = acc.post(
            "/webhooks/v1/systems/autodesk.construction.issues/events/issue.updated-1.0/hooks",
            json=hook,
            headers=bearer,
        )
        assert created.status_code == 201
        issue = acc.post(
            f"{ISSUES}/{pid}/issues",
            json={
                "title": "Open edge on level 3",
                "issueSubtypeId": riverside["safety_subtype_id"],
                "status": "open",
            },
            headers=bearer,
        ).json()

        page.goto(f"{acc_url}/_sandbox/edit/issues/{issue['id']}")
        assert page.inner_text("#status") == "open"
        page.select_option("#status-select", "closed")
        page.fill("#comment", "Guard rail installed")
        page.click("#save")
        page.wait_for_selector("#saved")
        assert page.inner_text("#status") == "closed"
        assert "Guard rail installed" in page.inner_text("#comments")
        screenshot(page, "acc-sandbox-issue-closed")
        page.close()

        assert acc.post("/_sandbox/webhooks/drain", json={"timeout": 5}).json()["drained"]
        got = acc.get(f"{ISSUES}/{pid}/issues/{issue['id']}", headers=bearer).json()
        assert got["status"] == "closed"
        assert got["commentCount"] == 1
    [(headers, body)] = receiver.calls
    payload = json.loads(body)["payload"]
    assert headers["x-adsk-signature"].startswith("sha1hash=")
    assert payload["changedAttributes"] == [
        {"attributeName": "status", "oldValue": "open", "newValue": "closed"}
    ]
    assert payload["actorId"] != issue["createdBy"]  # a person in ACC, not FieldBridge's user
