"""`fieldbridge simulate detections`: an edge box posting realistic safety events through the
public API (batch endpoint once a second; single events below 5 a second), plus the PPE
observations (people seen) that compliance rates divide by. Prints one JSON line at the end."""

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import typer

simulate_app = typer.Typer(
    help="Simulated field devices posting through the public API.", no_args_is_help=True
)


async def _site_setup(client: httpx.AsyncClient, site_id: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The site's zones and the device ids assigned on its project (empty without safety:read)."""
    zones = await client.get("/api/v1/safety/zones", params={"site_id": site_id, "limit": 1000})
    if zones.status_code != 200:
        return [], []
    site = (await client.get(f"/api/v1/safety/sites/{site_id}")).json()
    devices = await client.get(
        "/api/v1/safety/worker-devices", params={"project_id": site["project_id"], "limit": 1000}
    )
    held = (
        [d["device_id"] for d in devices.json()["items"] if d["valid_to"] is None]
        if devices.status_code == 200
        else []
    )
    return [z for z in zones.json()["items"] if z["active"]], held


def _one(site_id: int, zones: list[dict[str, Any]], devices: list[str], rng: random.Random) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    ppe = [z for z in zones if z["type"] == "ppe_required" and z["required_ppe"]]
    other = [z for z in zones if z["type"] != "ppe_required"]
    roll = rng.random()
    base: dict[str, Any] = {"event_id": f"sim-{uuid.uuid4().hex}", "site_id": site_id, "occurred_at": now}
    if ppe and roll < 0.7:
        z = rng.choice(ppe)
        missing = sorted(
            rng.sample(z["required_ppe"], 1 if rng.random() < 0.8 else min(2, len(z["required_ppe"])))
        )
        return {
            **base,
            "zone_id": z["id"],
            "type": "ppe_violation",
            "missing_items": missing,
            "priority": 3,
            "source": "camera",
            "source_ref": f"cam-{z['id']}",
            "confidence": round(rng.uniform(0.6, 0.99), 2),
            "evidence": [{"kind": "frame", "url": f"https://edge.example.com/frames/{uuid.uuid4().hex}.jpg"}],
        }
    kind = "zone_breach" if roll < 0.92 else rng.choice(("near_miss", "proximity", "fall"))
    place = rng.choice(other) if other else None
    return {
        **base,
        "zone_id": place["id"] if place else None,
        "type": kind,
        "priority": 4 if kind == "zone_breach" else 5,
        "source": "wearable",
        "device_id": rng.choice(devices) if devices else None,
    }


async def run(
    url: str,
    api_key: str,
    site_id: int,
    rate: float,
    seconds: float,
    seed: int | None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    rng = random.Random(seed)
    totals = {"sent": 0, "created": 0, "duplicates": 0, "errors": 0, "observations": 0}
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(
        base_url=url.rstrip("/"), headers=headers, timeout=30, transport=transport
    ) as client:
        zones, devices = await _site_setup(client, site_id)
        start = time.monotonic()
        tick = 0
        owed = 0.0
        while time.monotonic() - start < seconds:
            tick += 1
            owed += rate
            count, owed = int(owed), owed - int(owed)
            events = [_one(site_id, zones, devices, rng) for _ in range(count)]
            if events and (rate >= 5 or len(events) > 1):
                r = await client.post("/api/v1/detections/batch", json={"events": events})
                if r.status_code == 200:
                    out = r.json()
                    for k in ("created", "duplicates", "errors"):
                        totals[k] += out[k]
                else:
                    totals["errors"] += len(events)
            for event in events if rate < 5 and len(events) == 1 else []:
                r = await client.post("/api/v1/detections", json=event)
                totals["created" if r.status_code == 201 else "errors"] += 1
            totals["sent"] += len(events)
            seen = [
                {
                    "event_id": f"sim-obs-{uuid.uuid4().hex}",
                    "site_id": site_id,
                    "zone_id": z["id"],
                    "observed_at": datetime.now(UTC).isoformat(),
                    "persons": max(1, int(rate * rng.uniform(2, 5))),
                }
                for z in zones
                if z["type"] == "ppe_required"
            ]
            if seen:
                r = await client.post("/api/v1/safety/observations/batch", json={"observations": seen})
                totals["observations"] += r.json().get("created", 0) if r.status_code == 200 else 0
            await asyncio.sleep(max(0.0, start + tick - time.monotonic()))
    return totals


@simulate_app.command("detections")
def detections(
    site: int = typer.Option(..., "--site", help="Safety site id (GET /api/v1/safety/sites)."),
    rate: float = typer.Option(2.0, "--rate", min=0.01, max=5000, help="Events per second."),
    seconds: float = typer.Option(60.0, "--seconds", min=1, help="How long to send."),
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="FieldBridge base URL."),
    api_key: str = typer.Option(
        ..., "--api-key", envvar="FIELDBRIDGE_API_KEY", help="Key with detections:write."
    ),
    seed: int = typer.Option(None, "--seed", help="Random seed, for a repeatable run."),
) -> None:
    """Post realistic detections (and PPE observations) to a site at a steady rate."""
    totals = asyncio.run(run(url, api_key, site, rate, seconds, seed))
    typer.echo(json.dumps({"site": site, "rate": rate, "seconds": seconds, **totals}, sort_keys=True))
