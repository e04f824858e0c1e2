"""Each fault: 5xx, latency, hang past the client timeout, commit-then-drop, 429 storm, revoke."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from fieldbridge_sandbox.config import Faults, Latency
from fieldbridge_sandbox.faults import FaultInjector
from fieldbridge_sandbox.state import SandboxState

from .conftest import Demo, make_app, service_token


async def test_error_next_returns_5xx_then_recovers(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await client.put("/_sandbox/faults", json={"error_next": 2, "error_statuses": [503]})
    first = await client.get("/rest/v1.0/me", headers=headers)
    assert first.status_code == 503
    assert first.headers["retry-after"] == "5"
    assert "x-rate-limit-limit" in first.headers
    assert (await client.get("/rest/v1.0/me", headers=headers)).status_code == 503
    assert (await client.get("/rest/v1.0/me", headers=headers)).status_code == 200
    counts = (await client.get("/_sandbox/requests")).json()["requests"]
    assert {
        "method": "GET",
        "path": "/rest/v1.0/me",
        "status": 503,
        "outcome": "answered",
        "count": 2,
    } in counts


async def test_control_api_is_never_faulted(client: httpx.AsyncClient) -> None:
    await client.put("/_sandbox/faults", json={"error_rate": 1.0})
    assert (await client.get("/_sandbox/apps")).status_code == 200


async def test_error_rate_is_probabilistic_and_seeded(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await client.put("/_sandbox/faults", json={"error_rate": 0.5, "random_seed": 7})
    codes = [(await client.get("/rest/v1.0/me", headers=headers)).status_code for _ in range(40)]
    assert 5 < codes.count(200) < 35
    assert {c for c in codes if c != 200} <= {500, 502, 503}


async def test_latency(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """The configured latency is planned for every request (within its bounds) and the request
    still answers; how long the sleep took is the bench's business, not a test's."""
    injector = FaultInjector(Faults(latency=Latency(min_ms=30, max_ms=40)), clock=lambda: 0.0)
    delays = [injector.plan("GET").delay for _ in range(50)]
    assert all(0.03 <= d <= 0.04 for d in delays)
    await client.put("/_sandbox/faults", json={"latency": {"min_ms": 30, "max_ms": 40}})
    assert (await client.get("/rest/v1.0/me", headers=headers)).status_code == 200


async def test_hang_surfaces_as_a_timeout(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    await client.put("/_sandbox/faults", json={"timeout_next": 1, "hang_seconds": 0.05})
    with pytest.raises(httpx.TimeoutException):
        await client.get("/rest/v1.0/me", headers=headers)
    assert (await client.get("/rest/v1.0/me", headers=headers)).status_code == 200


async def test_commit_then_drop(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    await client.put("/_sandbox/faults", json={"drop_next": 1})
    assert (await client.get("/rest/v1.0/me", headers=headers)).status_code == 200  # reads pass
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(
            f"/rest/v1.0/projects/{demo.project_id}/notes_logs",
            json={"notes_log": {"comment": "dropped"}},
            headers=headers,
        )
    records = (await client.get("/_sandbox/records/notes_logs")).json()
    assert [r["comment"] for r in records] == ["dropped"]
    counts = (await client.get("/_sandbox/requests")).json()["requests"]
    writes = [r for r in counts if r["path"] == "/rest/v1.0/projects/{project_id}/notes_logs"]
    assert writes == [  # committed, but the client never got the 201
        {"method": "POST", "path": writes[0]["path"], "status": 0, "outcome": "dropped", "count": 1}
    ]


async def test_throttle_storm(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    await client.put("/_sandbox/faults", json={"throttle_for_seconds": 30})
    r = await client.get("/rest/v1.0/me", headers=headers)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "5"
    await client.post("/_sandbox/clock", json={"advance_seconds": 31})
    assert (await client.get("/rest/v1.0/me", headers=headers)).status_code == 200


async def test_revoke_all_tokens(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    await client.put("/_sandbox/faults", json={"revoke_all_tokens": True})
    assert (await client.get("/rest/v1.0/me", headers=headers)).status_code == 401
    await service_token(client)
    revoked = await client.post("/_sandbox/revoke_all")
    assert revoked.json()["revoked"] == 1


def test_fault_counters_take_priority_over_rates() -> None:
    from fieldbridge_sandbox.config import Faults

    injector = FaultInjector(Faults(drop_next=1), lambda: 0.0)
    assert not injector.plan("GET").drop
    assert injector.plan("POST").drop
    assert not injector.plan("POST").drop


@pytest.fixture
def served() -> Iterator[tuple[str, SandboxState]]:
    """The sandbox behind a real uvicorn server on a loopback port."""
    app = make_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 5
    while not server.started and time.time() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", app.state.sandbox
    server.should_exit = True
    thread.join(5)
    sock.close()


async def test_served_drop_and_timeout_are_transport_errors(served: tuple[str, SandboxState]) -> None:
    url, state = served
    async with httpx.AsyncClient(base_url=url, timeout=0.3) as client:
        token = await service_token(client)
        company = next(iter(state.store["companies"]))["id"]
        project = next(p["id"] for p in state.store["projects"] if p["active"])
        headers = {"Authorization": f"Bearer {token}", "Procore-Company-Id": str(company)}
        await client.put("/_sandbox/faults", json={"drop_next": 1})
        with pytest.raises(httpx.TransportError):
            await client.post(
                f"/rest/v1.0/projects/{project}/notes_logs",
                json={"notes_log": {"comment": "served"}},
                headers=headers,
            )
        assert [r["comment"] for r in state.store["notes_logs"]] == ["served"]
        await client.put("/_sandbox/faults", json={"timeout_next": 1, "hang_seconds": 1.0})
        with pytest.raises(httpx.TimeoutException):
            await client.get("/rest/v1.0/me", headers=headers)
    await asyncio.sleep(0)


async def test_served_hang_outlasting_a_patient_client_breaks_the_connection(
    served: tuple[str, SandboxState],
) -> None:
    """A client that waits longer than `hang_seconds` gets a broken connection, not a status
    (it used to get uvicorn's plain-text 500 once the hang ended)."""
    url, state = served
    async with httpx.AsyncClient(base_url=url, timeout=None) as client:
        token = await service_token(client)
        company = next(iter(state.store["companies"]))["id"]
        headers = {"Authorization": f"Bearer {token}", "Procore-Company-Id": str(company)}
        await client.put("/_sandbox/faults", json={"timeout_next": 1, "hang_seconds": 0.2})
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/rest/v1.0/me", headers=headers)
        assert (await client.get("/rest/v1.0/me", headers=headers)).status_code == 200
        counts = (await client.get("/_sandbox/requests")).json()["requests"]
    me = [(r["status"], r["outcome"], r["count"]) for r in counts if r["path"] == "/rest/v1.0/me"]
    assert sorted(me) == [(0, "timed_out", 1), (200, "answered", 1)]


async def test_retry_after_set_at_run_time_is_what_a_storm_sends(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await client.put("/_sandbox/faults", json={"throttle_for_seconds": 30, "retry_after_seconds": 11})
    r = await client.get("/rest/v1.0/me", headers=headers)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "11"
