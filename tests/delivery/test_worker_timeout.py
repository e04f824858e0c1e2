"""`FIELDBRIDGE_DELIVERY_HTTP_TIMEOUT_SECONDS` is the read timeout of the worker's calls (it used
to be ignored: the worker waited the 20 s default whatever it said)."""

import httpx
from sqlalchemy import select

from fieldbridge.bench.testbed import clock_out, served_sandbox, setup_testbed
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.models import DeliveryAttempt
from fieldbridge.delivery.runner import drain
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings


async def test_the_worker_gives_up_on_a_silent_procore_at_its_configured_timeout(
    settings: Settings, db: Database
) -> None:
    with served_sandbox(seed="demo") as url:
        bed = await setup_testbed(db, settings, url, projects=1)
        await clock_out(db, bed, bed.projects[0], bed.people[0], 0)
        async with httpx.AsyncClient(base_url=url, timeout=30) as sandbox:
            # Procore stays silent for 3 s on the next call, then breaks the connection.
            faults = {"timeout_next": 1, "hang_seconds": 3, "path_prefixes": ["/rest/"]}
            assert (await sandbox.put("/_sandbox/faults", json=faults)).status_code == 200
            config = DeliveryConfig(http_timeout_seconds=0.3, drain_seconds=20, backoff_base_seconds=0.01)
            await drain(db, bed.connection_id, settings=settings, config=config)
    async with db.sessionmaker() as session:
        first = (await session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))).first()
    assert first is not None
    assert "ReadTimeout" in (first.error or ""), first.error
