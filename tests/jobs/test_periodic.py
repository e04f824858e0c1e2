"""Periodic jobs (jobs.registry.every): registered from a domain module, run by serve's loop
when their interval is up; the incidents reconcile pass is one of the built-in ones."""

import asyncio

import pytest

from fieldbridge.jobs import registry
from fieldbridge.jobs.registry import every, periodic_jobs
from fieldbridge.jobs.runner import configured_jobs, run_periodic_jobs
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings


async def test_serve_runs_each_periodic_job_when_its_interval_is_up(db: Database, settings: Settings) -> None:
    configured_jobs(settings)
    assert "incidents.reconcile" in [j.name for j in periodic_jobs()]
    stop = asyncio.Event()
    calls: list[str] = []

    @every("test.periodic", seconds=3600, cron="* * * * *")
    async def job(db_: Database, http: HttpClients, s: Settings) -> None:
        calls.append("ran")
        stop.set()

    try:
        await asyncio.wait_for(run_periodic_jobs(db, HttpClients(), settings, stop), timeout=60)
    finally:
        registry._PERIODIC.pop("test.periodic", None)
    assert calls == ["ran"]  # once: the next is an hour away and the loop stopped


def test_a_name_registers_one_job() -> None:
    async def a(db: Database, http: HttpClients, s: Settings) -> None: ...

    async def b(db: Database, http: HttpClients, s: Settings) -> None: ...

    every("test.once", 1, "* * * * *")(a)
    try:
        every("test.once", 1, "* * * * *")(a)  # the same function again: fine (re-import)
        with pytest.raises(ValueError, match="already registered"):
            every("test.once", 1, "* * * * *")(b)
    finally:
        registry._PERIODIC.pop("test.once", None)
