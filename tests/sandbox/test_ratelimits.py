"""Rate limits per token: headers on every response, 429 with Retry-After, windows reset."""

from __future__ import annotations

import httpx

from .conftest import Demo, service_token


async def test_headers_on_every_response_including_errors(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for r in (
        await client.get("/rest/v1.0/me", headers=headers),
        await client.get("/rest/v1.0/me"),
        await client.get("/rest/v1.0/nothing-here", headers=headers),
    ):
        assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(r.headers), (
            r.status_code
        )


async def test_spike_limit_gives_429_with_retry_after(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await client.put("/_sandbox/rate_limits", json={"spike": 5, "hourly": 100})
    statuses = [(await client.get("/rest/v1.0/me", headers=headers)).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    r = await client.get("/rest/v1.0/me", headers=headers)
    assert r.status_code == 429
    assert r.headers["x-rate-limit-remaining"] == "0"
    assert 1 <= int(r.headers["retry-after"]) <= 10
    assert "surpassed the max number of requests" in r.json()["message"]
    await client.post("/_sandbox/clock", json={"advance_seconds": 11})
    assert (await client.get("/rest/v1.0/me", headers=headers)).status_code == 200


async def test_hourly_limit_and_remaining_counts_down(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await client.put("/_sandbox/rate_limits", json={"spike": 100, "hourly": 3})
    first = await client.get("/rest/v1.0/me", headers=headers)
    assert first.headers["x-rate-limit-limit"] == "3"
    assert first.headers["x-rate-limit-remaining"] == "2"
    await client.get("/rest/v1.0/me", headers=headers)
    await client.get("/rest/v1.0/me", headers=headers)
    blocked = await client.get("/rest/v1.0/me", headers=headers)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 3000


async def test_limits_are_per_token(client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]) -> None:
    await client.put("/_sandbox/rate_limits", json={"spike": 2})
    for _ in range(2):
        await client.get("/rest/v1.0/me", headers=headers)
    assert (await client.get("/rest/v1.0/me", headers=headers)).status_code == 429
    other = {
        "Authorization": f"Bearer {await service_token(client)}",
        "Procore-Company-Id": str(demo.company_id),
    }
    assert (await client.get("/rest/v1.0/me", headers=other)).status_code == 200


async def test_default_limits(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await client.get("/rest/v1.0/me", headers=headers)
    assert r.headers["x-rate-limit-limit"] == "100"  # the spike window is closer to running out
