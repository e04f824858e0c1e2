"""A ledger testbed on real HTTP: the Procore sandbox served by uvicorn in a subprocess, a
company with a Procore service-account connection, and clock-outs that enqueue timecards.
Used by `fieldbridge bench export` and the multi-process chaos test."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from fieldbridge.accounts import service as accounts_service
from fieldbridge.connectors.procore.offline import connect_offline_sandbox
from fieldbridge.delivery import service
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def served_sandbox(seed: str = "large", port: int | None = None, provider: str = "procore") -> Iterator[str]:
    """`fieldbridge sandbox <provider>` in a subprocess; yields its URL once it answers."""
    port = port or free_port()
    code = "from fieldbridge.cli import app; app()"
    args = [sys.executable, "-c", code, "sandbox", provider, "--port", str(port), "--seed", seed]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/_sandbox/apps", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the {provider} sandbox did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class ExportRig:
    sandbox_url: str
    company_id: int
    connection_id: int
    procore_company_id: int
    projects: list[int]
    people: list[int]
    run: str


async def setup_testbed(db: Database, settings: Settings, sandbox_url: str, *, projects: int) -> ExportRig:
    """A new company connected to the sandbox's first company through a service account."""
    http = HttpClients(allow_emulators=settings.offline_sandbox_allowed)
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=30) as sandbox:
        companies = (await sandbox.get("/_sandbox/records/companies")).json()
        procore_company = int(companies[0]["id"])
        all_projects = (await sandbox.get("/_sandbox/records/projects")).json()
        people = (await sandbox.get("/_sandbox/records/people")).json()
    chosen = [p["id"] for p in all_projects if p["company_id"] == procore_company and p["active"]][:projects]
    party_ids = [p["id"] for p in people if p["company_id"] == procore_company][:500]
    run = f"{int(time.time())}{os.getpid() % 1000:03d}"
    async with db.transaction() as session:
        company = await accounts_service.create_company(session, f"Bench {run}", f"B{run}"[-12:])
        connection = await connect_offline_sandbox(
            session, settings, http, company.id, sandbox_url, procore_company
        )
    return ExportRig(sandbox_url, company.id, connection.id, procore_company, chosen, party_ids, run)


async def clock_out(db: Database, bed: ExportRig, project_id: int, party_id: int, n: int) -> int:
    """One worker's clock-out: its timecard create commits with it (the ledger row id)."""
    day = "2026-11-25"
    async with db.transaction() as session:
        row = await service.enqueue(
            session,
            company_id=bed.company_id,
            connection_id=bed.connection_id,
            kind="procore.timecard.create",
            subject=f"bench_shift:{bed.run}:{n}",
            payload={
                "project_id": project_id,
                "party_id": party_id,
                "date": day,
                "hours": "8",
                "time_in": f"{day}T07:00:00Z",
                "time_out": f"{day}T15:00:00Z",
                "description": f"bench shift {n}",
            },
            remote_project_id=str(project_id),  # the sandbox's number, kept as a string
        )
        return row.id


def worker_env(settings: Settings, sandbox_url: str, config: DeliveryConfig) -> dict[str, str]:
    """Environment of a `fieldbridge worker` subprocess working for this testbed."""
    env = dict(os.environ)
    env.update(
        {
            "FIELDBRIDGE_ENV": settings.env.value,
            "FIELDBRIDGE_DATABASE_URL": settings.database_url,
            "FIELDBRIDGE_SECRET_KEY": settings.secret,
            "FIELDBRIDGE_LOG_JSON": "true",
        }
    )
    for name, value in config.model_dump().items():
        env[f"FIELDBRIDGE_DELIVERY_{name.upper()}"] = str(value)
    return env
