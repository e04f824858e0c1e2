"""Registration of local-time jobs: one line from a domain module.

    from fieldbridge.jobs.registry import at_local_time

    @at_local_time("safety.daily_summary", "17:00")
    async def daily_summary(run: LocalRun) -> None:
        ...  # write rows / enqueue deliveries with run.session; never commit

The handler runs once per (project, local date), inside the transaction that claims that key.
Modules that register jobs are imported by `load_job_modules` (the built-in list below plus
FIELDBRIDGE_JOB_MODULES and FIELDBRIDGE_CONNECTOR_MODULES), in `serve` and in `fieldbridge
worker` alike.
"""

import importlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project

# Domain modules that register local-time jobs (imported by every process that runs jobs).
BUILT_IN_MODULES: tuple[str, ...] = ("fieldbridge.safety.tasks", "fieldbridge.incidents.tasks")


@dataclass(frozen=True)
class LocalRun:
    """One run of a local-time job: the claimed key and the session its work writes with."""

    session: AsyncSession
    job_name: str
    project: Project
    local_date: date
    scheduled_at: datetime  # HH:MM local on local_date, as a UTC instant


Handler = Callable[[LocalRun], Awaitable[None]]


@dataclass(frozen=True)
class LocalTimeJob:
    name: str
    at: time
    run: Handler


_JOBS: dict[str, LocalTimeJob] = {}

# Jobs whose local time is data (e.g. each safety site link's summary time): called on every
# tick with (db, owner, catch_up, now); each claims its own run keys (`JobsRepository.claim`).
Ticker = Callable[[Any, str, timedelta, datetime], Awaitable[int]]
_TICKERS: dict[str, Ticker] = {}


def on_tick(name: str) -> Callable[[Ticker], Ticker]:
    """Register `ticker` to run on every tick of the local-time jobs (serve and worker alike)."""

    def register(ticker: Ticker) -> Ticker:
        _TICKERS[name] = ticker
        return ticker

    return register


def tickers() -> list[Ticker]:
    return [_TICKERS[name] for name in sorted(_TICKERS)]


def parse_hhmm(text: str) -> time:
    hours, sep, minutes = text.partition(":")
    well_formed = sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2
    if well_formed and int(hours) < 24 and int(minutes) < 60:
        return time(int(hours), int(minutes))
    raise ValueError(f"a local time is HH:MM from 00:00 to 23:59 (e.g. 17:00), not {text!r}")


def at_local_time(name: str, at: str) -> Callable[[Handler], Handler]:
    """Register `handler` to run at `at` (HH:MM) in each project's time zone, once a day."""
    when = parse_hhmm(at)

    def register(handler: Handler) -> Handler:
        existing = _JOBS.get(name)
        if existing is not None and existing.run is not handler:
            raise ValueError(f"a local-time job named {name!r} is already registered")
        _JOBS[name] = LocalTimeJob(name, when, handler)
        return handler

    return register


def local_time_jobs() -> list[LocalTimeJob]:
    return sorted(_JOBS.values(), key=lambda job: job.name)


def load_job_modules(extra: Iterable[str] = ()) -> list[LocalTimeJob]:
    """Import the modules that register jobs; returns every registered job."""
    for module in (*BUILT_IN_MODULES, *extra):
        importlib.import_module(module)
    return local_time_jobs()


PeriodicRun = Callable[[Database, HttpClients, Settings], Awaitable[None]]


@dataclass(frozen=True)
class PeriodicJob:
    """Work repeated every `seconds` (a reconcile pass): `serve` runs it in its loop,
    `fieldbridge worker` as a Procrastinate periodic task on `cron`. It must be safe to run
    twice at once (both backends may run it): passes that re-read and compare are."""

    name: str
    seconds: float
    cron: str
    run: PeriodicRun


_PERIODIC: dict[str, PeriodicJob] = {}


def every(name: str, seconds: float, cron: str) -> Callable[[PeriodicRun], PeriodicRun]:
    """Register `run(db, http, settings)` to run every `seconds` (worker: on `cron`)."""

    def register(run: PeriodicRun) -> PeriodicRun:
        existing = _PERIODIC.get(name)
        if existing is not None and existing.run is not run:
            raise ValueError(f"a periodic job named {name!r} is already registered")
        _PERIODIC[name] = PeriodicJob(name, seconds, cron, run)
        return run

    return register


def periodic_jobs() -> list[PeriodicJob]:
    return sorted(_PERIODIC.values(), key=lambda job: job.name)
