"""Rate limits, injected faults and request counts of the ACC sandbox, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox_acc.conftest import ISSUES, Seed


def _count(requests: dict[str, Any], method: str, path: str, outcome: str = "answered") -> dict[int, int]:
    out: dict[int, int] = {}
    for row in requests["requests"]:
        if row["method"] == method and row["path"] == path and row["outcome"] == outcome:
            out[row["status"]] = out.get(row["status"], 0) + row["count"]
    return out


async def test_rate_limit_answers_429_with_retry_after(acc: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await acc.put("/_sandbox/rate_limits", json={"spike": 3, "spike_window_seconds": 60})
    try:
        statuses = [(await acc.get("/project/v1/hubs", headers=admin)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        r = await acc.get("/project/v1/hubs", headers=admin)
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.json()["developerMessage"]
    finally:
        await acc.put("/_sandbox/rate_limits", json={"spike": 600, "spike_window_seconds": 60})


async def test_injected_5xx_and_throttle(acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed) -> None:
    pid = seed.project("Riverside Medical Office")["acc_project_id"]
    await acc.put("/_sandbox/faults", json={"error_next": 1, "error_statuses": [503]})
    r = await acc.get(f"{ISSUES}/{pid}/issues", headers=admin)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    assert (await acc.get(f"{ISSUES}/{pid}/issues", headers=admin)).status_code == 200
    await acc.put("/_sandbox/faults", json={"throttle_next": 1, "retry_after_seconds": 7})
    r = await acc.get(f"{ISSUES}/{pid}/issues", headers=admin)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "7"
    counts = (await acc.get("/_sandbox/requests")).json()
    path = "/construction/issues/v1/projects/{projectId}/issues"
    assert _count(counts, "GET", path) == {503: 1, 200: 1, 429: 1}


async def test_dropped_connection_after_commit_is_counted_and_the_issue_exists(
    acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed
) -> None:
    project = seed.project("Riverside Medical Office")
    pid = project["acc_project_id"]
    await acc.put("/_sandbox/faults", json={"drop_next": 1})
    body = {
        "title": "Fall hazard [fieldbridge:det-9]",
        "issueSubtypeId": project["safety_subtype_id"],
        "status": "open",
    }
    with pytest.raises(httpx.RemoteProtocolError):
        await acc.post(f"{ISSUES}/{pid}/issues", json=body, headers=admin)
    listing = (await acc.get(f"{ISSUES}/{pid}/issues", headers=admin)).json()
    assert [i["title"] for i in listing["results"]] == [body["title"]]
    # a client that retries blindly makes a duplicate, and the sandbox counts it
    assert (await acc.post(f"{ISSUES}/{pid}/issues", json=body, headers=admin)).status_code == 200
    marks = (await acc.get("/_sandbox/markers", params={"expected": "det-9"})).json()
    assert marks["duplicates"] == 1
    assert marks["lost"] == 0
    counts = (await acc.get("/_sandbox/requests")).json()
    path = "/construction/issues/v1/projects/{projectId}/issues"
    assert _count(counts, "POST", path, "dropped") == {0: 1}
    assert _count(counts, "POST", path) == {200: 1}


async def test_hang_until_the_client_gives_up(acc: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await acc.put("/_sandbox/faults", json={"timeout_next": 1, "hang_seconds": 5})
    with pytest.raises(httpx.ReadTimeout):
        await acc.get("/project/v1/hubs", headers=admin, timeout=0.5)
    assert (await acc.get("/project/v1/hubs", headers=admin)).status_code == 200


async def test_token_endpoint_faults_and_revoke_all(acc: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await acc.put("/_sandbox/faults", json={"revoke_all_tokens": True})
    r = await acc.get("/project/v1/hubs", headers=admin)
    assert r.status_code == 401
    faults = (await acc.get("/_sandbox/faults")).json()
    assert "/authentication/v2/token" in faults["path_prefixes"]
    assert "/_sandbox/" not in faults["path_prefixes"]


async def test_control_api_answers_bad_input_with_400(acc: httpx.AsyncClient) -> None:
    assert (await acc.post("/_sandbox/reset", json={"seed": "huge"})).status_code == 400
    assert (await acc.post("/_sandbox/reset", content=b"{nope")).status_code == 400
    assert (await acc.get("/_sandbox/markers", params={"regex": "("})).status_code == 400
    assert (await acc.post("/_sandbox/clock", json={"advance_seconds": "soon"})).status_code == 400
    assert (await acc.get("/_sandbox/records/nope")).status_code == 404
    assert (await acc.post("/_sandbox/issues/nope", json={"status": "closed"})).status_code == 404
