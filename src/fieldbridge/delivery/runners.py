"""Which runner a `serve` process starts (FIELDBRIDGE_RUNNER): `local`, `procrastinate`, `none`."""

from collections.abc import Awaitable, Callable

from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings

Stop = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


async def start(db: Database, http: HttpClients, settings: Settings) -> Stop:
    """Start the configured runner for a web process; returns its stop function.

    `local` drains in this process; `procrastinate` only defers drain jobs after commits
    (the work happens in `fieldbridge worker`); `none` does neither (web-only replicas).
    """
    if settings.runner == "local":
        from fieldbridge.delivery.local import LocalRunner

        local = LocalRunner(db, http, settings)
        await local.start()
        return local.stop
    if settings.runner == "procrastinate":
        from fieldbridge.delivery.procrastinate_runner import ProcrastinateRunner

        deferrer = ProcrastinateRunner(settings)
        await deferrer.open()
        return deferrer.close
    if settings.runner == "none":
        return _nothing
    raise ValueError(f"FIELDBRIDGE_RUNNER must be local, procrastinate or none, not {settings.runner!r}")
