"""APS webhooks over real HTTP: hooks for autodesk.construction.issues fire on API writes and on
person edits, signed with x-adsk-signature (HMAC-SHA1 of the body under the secret token)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from tests.sandbox_acc.conftest import ISSUES, Receiver, Seed, token_pair

SYSTEM = "/webhooks/v1/systems/autodesk.construction.issues"
SECRET = "s3cr3t-token-for-the-receiver-0123456789"


async def _hook(
    acc: httpx.AsyncClient, admin: dict[str, str], url: str, pid: str, event: str, **extra: Any
) -> str:
    body = {"callbackUrl": url, "scope": {"project": f"b.{pid}"}, "hookAttribute": {"tenant": "t1"}, **extra}
    r = await acc.post(f"{SYSTEM}/events/{event}/hooks", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.headers["location"].rsplit("/", 1)[1]


async def _issue(acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed, name: str) -> dict[str, Any]:
    project = seed.project(name)
    body = {"title": "Worker without vest", "issueSubtypeId": project["safety_subtype_id"], "status": "open"}
    r = await acc.post(f"{ISSUES}/{project['acc_project_id']}/issues", json=body, headers=admin)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def _drain(acc: httpx.AsyncClient) -> None:
    r = (await acc.post("/_sandbox/webhooks/drain", json={"timeout": 5})).json()
    assert r["drained"], r


def _verify(headers: dict[str, str], body: bytes, secret: str) -> bool:
    expected = "sha1hash=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(headers["x-adsk-signature"], expected)


async def test_created_and_closed_by_a_person_fire_signed_callbacks(
    acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed, receiver_url: tuple[str, Receiver]
) -> None:
    url, receiver = receiver_url
    pid = seed.project("Riverside Medical Office")["acc_project_id"]
    await _hook(acc, admin, url, pid, "issue.*", token=SECRET)
    issue = await _issue(acc, admin, seed, "Riverside Medical Office")
    pat = seed.user("pat@northwind.example")
    closed = await acc.post(
        f"/_sandbox/issues/{issue['id']}", json={"status": "closed", "user_id": pat["id"]}
    )
    assert closed.status_code == 200
    await _drain(acc)
    assert len(receiver.calls) == 2
    events = []
    for headers, body in receiver.calls:
        assert _verify(headers, body, SECRET)
        assert not _verify(headers, body + b" ", SECRET)
        assert headers["x-adsk-delivery-id"]
        events.append(json.loads(body))
    created, updated = events
    assert created["hook"]["event"] == "issue.created-1.0"
    assert created["hook"]["hookAttribute"] == {"tenant": "t1"}
    assert created["payload"]["id"] == issue["id"]
    assert created["payload"]["projectId"] == pid
    assert created["payload"]["actorId"] == issue["createdBy"]
    assert updated["hook"]["event"] == "issue.updated-1.0"
    assert updated["payload"]["status"] == "closed"
    assert updated["payload"]["changedAttributes"] == [
        {"attributeName": "status", "oldValue": "open", "newValue": "closed"}
    ]
    assert updated["payload"]["actorId"] == pat["id"] == updated["payload"]["closedBy"]


async def test_owner_wide_token_signs_and_unsigned_without_one(
    acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed, receiver_url: tuple[str, Receiver]
) -> None:
    url, receiver = receiver_url
    pid = seed.project("Riverside Medical Office")["acc_project_id"]
    await _hook(acc, admin, url, pid, "issue.created-1.0")
    await _issue(acc, admin, seed, "Riverside Medical Office")
    await _drain(acc)
    assert "x-adsk-signature" not in receiver.calls[0][0]
    r = await acc.post("/webhooks/v1/tokens", json={"token": SECRET}, headers=admin)
    assert r.status_code == 200
    assert (await acc.post("/webhooks/v1/tokens", json={"token": "x"}, headers=admin)).status_code == 400
    await _issue(acc, admin, seed, "Riverside Medical Office")
    await _drain(acc)
    headers, body = receiver.calls[1]
    assert _verify(headers, body, SECRET)


async def test_hooks_only_for_their_project_and_event(
    acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed, receiver_url: tuple[str, Receiver]
) -> None:
    url, receiver = receiver_url
    harbor = seed.project("Harbor Logistics Center")["acc_project_id"]
    await _hook(acc, admin, url, harbor, "issue.updated-1.0")
    await _issue(acc, admin, seed, "Riverside Medical Office")
    issue = await _issue(acc, admin, seed, "Harbor Logistics Center")
    await _drain(acc)
    assert receiver.calls == []
    await acc.post(f"/_sandbox/issues/{issue['id']}", json={"comment": "seen", "status": "in_progress"})
    await _drain(acc)
    assert [json.loads(b)["payload"]["status"] for _, b in receiver.calls] == ["in_progress"]


async def test_hook_management(
    acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed, receiver_url: tuple[str, Receiver]
) -> None:
    url, _ = receiver_url
    pid = seed.project("Riverside Medical Office")["acc_project_id"]
    assert (await acc.get("/webhooks/v1/hooks", headers=admin)).status_code == 204
    hook_id = await _hook(acc, admin, url, pid, "issue.created-1.0")
    again = await acc.post(
        f"{SYSTEM}/events/issue.created-1.0/hooks",
        json={"callbackUrl": url, "scope": {"project": pid}},
        headers=admin,
    )
    assert again.status_code == 409
    listed = (await acc.get(f"{SYSTEM}/hooks", headers=admin)).json()["data"]
    assert [h["hookId"] for h in listed] == [hook_id]
    assert "token" not in listed[0]
    path = f"{SYSTEM}/events/issue.created-1.0/hooks/{hook_id}"
    assert (await acc.patch(path, json={"status": "inactive"}, headers=admin)).status_code == 200
    assert (await acc.get(path, headers=admin)).json()["status"] == "inactive"
    assert (await acc.patch(path, json={"status": "active"}, headers=admin)).status_code == 200
    assert (await acc.get(path, headers=admin)).json()["status"] == "reactivated"
    assert (await acc.delete(path, headers=admin)).status_code == 204
    assert (await acc.get(path, headers=admin)).status_code == 404


async def test_only_project_admins_create_hooks(
    acc: httpx.AsyncClient, seed: Seed, receiver_url: tuple[str, Receiver]
) -> None:
    sam = await token_pair(acc, "sam@northwind.example")
    pid = seed.project("Riverside Medical Office")["acc_project_id"]
    r = await acc.post(
        f"{SYSTEM}/events/issue.created-1.0/hooks",
        json={"callbackUrl": receiver_url[0], "scope": {"project": pid}},
        headers={"Authorization": f"Bearer {sam['access_token']}"},
    )
    assert r.status_code == 403


async def test_failing_callback_is_retried_then_the_hook_turns_inactive(
    acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed, receiver_url: tuple[str, Receiver]
) -> None:
    url, receiver = receiver_url
    pid = seed.project("Riverside Medical Office")["acc_project_id"]
    hook_id = await _hook(acc, admin, url, pid, "issue.created-1.0")
    receiver.status = 500
    await _issue(acc, admin, seed, "Riverside Medical Office")
    await _drain(acc)  # the test sandbox gives up after 2 s of failures
    assert len(receiver.calls) >= 2
    deliveries = (await acc.get("/_sandbox/records/deliveries")).json()
    assert {d["outcome"] for d in deliveries} == {"failed", "discarded"}
    hook = (await acc.get(f"{SYSTEM}/events/issue.created-1.0/hooks/{hook_id}", headers=admin)).json()
    assert hook["status"] == "inactive"


async def test_delete_and_restore_in_acc_fire_their_events(
    acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed, receiver_url: tuple[str, Receiver]
) -> None:
    url, receiver = receiver_url
    project = seed.project("Riverside Medical Office")
    await _hook(acc, admin, url, project["acc_project_id"], "issue.*")
    issue = await _issue(acc, admin, seed, "Riverside Medical Office")
    await acc.post(f"/_sandbox/issues/{issue['id']}", json={"deleted": True})
    listing = f"{ISSUES}/{project['acc_project_id']}/issues"
    assert (await acc.get(listing, headers=admin)).json()["results"] == []
    deleted = (await acc.get(listing, params={"filter[deleted]": "true"}, headers=admin)).json()["results"]
    assert [i["id"] for i in deleted] == [issue["id"]]
    await acc.post(f"/_sandbox/issues/{issue['id']}", json={"deleted": False})
    await _drain(acc)
    events = [json.loads(b)["hook"]["event"] for _, b in receiver.calls]
    assert events == ["issue.created-1.0", "issue.deleted-1.0", "issue.restored-1.0"]
