"""Load: 50 concurrent wrong sign-ins against a live server process (`fieldbridge serve` on a
free port) leave it answering, and the right PIN still signs in from another phone.

Not timed: it asserts answers, not durations (figures go to docs, not tests)."""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.browser import free_port
from tests.factories import Tenant, create_tenant

ATTACKERS = 50
SIGN_IN = "/api/v1/auth/worker-sign-in"
# A bound on one answer, so a stalled server fails the test instead of hanging it.
ANSWER_WITHIN = httpx.Timeout(60.0)
SRC = Path(__file__).resolve().parents[1] / "src"
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
async def server(settings: Settings, db: Database, tmp_path: Path) -> AsyncIterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "FIELDBRIDGE_ENV": "test",
        "FIELDBRIDGE_DATABASE_URL": settings.database_url,
        "FIELDBRIDGE_BASE_URL": f"http://127.0.0.1:{port}",
        "FIELDBRIDGE_SCHEDULER": "false",
        # Long waits, so "5 checked, the rest refused" holds however slow the machine is.
        "FIELDBRIDGE_SIGNIN_DELAY_SECONDS": "600",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from fieldbridge.cli import app; app()",
            "serve",
            "--port",
            str(port),
            env=env,
            stdout=out,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            for _ in range(300):
                if process.returncode is not None:
                    pytest.fail(f"the server exited: {log.read_text()[-2000:]}")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
            else:
                pytest.fail("the server did not start")
        yield base
    finally:
        process.terminate()
        try:  # a server stuck on requests that never finish is killed, not waited for
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()


def _body(tenant: Tenant, pin: str, device: str | None) -> dict[str, str]:
    body = {"company_code": tenant.company.code, "pin": pin}
    if device:
        body["device_id"] = device
    return body


async def test_fifty_wrong_sign_ins_leave_the_server_answering(
    server: str, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    right_pin = f"{1000 + int(''.join(c for c in tenant.company.code if c.isdigit()))}"
    limits = httpx.Limits(max_connections=ATTACKERS + 10)
    async with httpx.AsyncClient(base_url=server, timeout=ANSWER_WITHIN, limits=limits) as http:
        attack_done = asyncio.Event()

        async def attack() -> list[httpx.Response]:
            try:
                return await asyncio.gather(
                    *(http.post(SIGN_IN, json=_body(tenant, "0000", None)) for _ in range(ATTACKERS))
                )
            finally:
                attack_done.set()

        async def watch() -> list[int]:
            """/healthz and /readyz (which needs a pooled connection) while the attack runs."""
            seen: list[int] = []
            while not attack_done.is_set() or not seen:
                for path in ("/healthz", "/readyz"):
                    seen.append((await http.get(path)).status_code)
                await asyncio.sleep(0.05)
            return seen

        async def honest_phone() -> httpx.Response:
            await asyncio.sleep(0.05)  # in the middle of the attack
            return await http.post(SIGN_IN, json=_body(tenant, right_pin, "crew-phone-0001"))

        answers, health, during = await asyncio.gather(attack(), watch(), honest_phone())
        after = await http.post(SIGN_IN, json=_body(tenant, right_pin, "crew-phone-0002"))

    codes = [a.status_code for a in answers]
    assert set(codes) <= {401, 429}, [a.text for a in answers if a.status_code not in (401, 429)][:3]
    assert codes.count(401) == settings.signin_free_failures  # the rest were refused unchecked
    assert all(a.json()["error"]["code"] in ("bad_credentials", "sign_in_throttled") for a in answers)
    assert health
    assert set(health) == {200}
    assert during.status_code == 200, during.text
    assert after.status_code == 200, after.text
