"""The phone's hot path (`timekeeping/phone.py`, PostgreSQL) answers exactly as the routes do.

One working day of a crew, with its refusals and offline re-sends, is played twice against
the same database and Procore sandbox: once through the app as it runs (hot path on), once
through an app with `hot_path` off (every call takes its route). Two companies, the same
client ids: every answer and every row written (shifts, allocations, ledger rows) must be the
same once the companies' own ids are named alike. The hot app must have answered most calls
itself, or the comparison proves nothing.
"""

import asyncio
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import make_url, select, text

from fieldbridge.app import create_app
from fieldbridge.delivery.models import Delivery
from fieldbridge.timekeeping import events, policy, service, targets
from fieldbridge.timekeeping.models import ClockAllocation, ClockShift
from tests.conftest import PG_URL
from tests.procore_fixtures import FIELDBRIDGE_URL, ProcoreEnv
from tests.timekeeping.helpers import SHIFT_START, Crew, crew_env

pytestmark = pytest.mark.skipif(PG_URL is None, reason="the hot path runs on PostgreSQL only")
API = "/api/v1/time"
Step = tuple[int, str, dict[str, Any]]  # (worker index of the phone, path, body)


def _at(hours: float) -> str:
    return (SHIFT_START + timedelta(hours=hours)).isoformat()


def _day(crew: Crew) -> list[Step]:
    """The day's calls; ids are fixed so both companies send the same ones."""
    w, m = crew.workers, crew.milestones
    split = {
        "mode": "percent",
        "lines": [{"milestone_id": m[0], "value": "60"}, {"milestone_id": m[1], "value": "40"}],
    }
    crew_in = {
        "id": "clockin-crew",
        "milestone_id": m[0],
        "started_at": _at(0),
        "members": [{"worker_id": x, "shift_id": f"shiftid-crew-{n}"} for n, x in enumerate(w)],
    }
    steps: list[Step] = [
        (0, "clock-in", crew_in),  # cold caches: the route answers and fills them
        (0, "clock-in", crew_in),  # the same action re-sent offline: a replay
        (
            1,
            "clock-in",
            {**crew_in, "id": "clockin-again", "members": [{"worker_id": w[1], "shift_id": "shiftid-x"}]},
        ),
        (
            1,
            "clock-in",
            {**crew_in, "id": "clockin-other", "members": [{"worker_id": w[2], "shift_id": "shiftid-y"}]},
        ),
        (
            0,
            "clock-out",
            {"id": "clockout-1", "shift_ids": ["shiftid-crew-1"], "ended_at": _at(4), "break_minutes": 15},
        ),
        (
            0,
            "clock-out",
            {"id": "clockout-1", "shift_ids": ["shiftid-crew-1"], "ended_at": _at(4), "break_minutes": 15},
        ),
        (
            1,
            "clock-in",
            {
                "id": "clockin-2",
                "milestone_id": m[1],
                "started_at": _at(4.5),
                "members": [{"worker_id": w[1], "shift_id": "shiftid-2"}],
            },
        ),
        (
            0,
            "clock-out",
            {
                "id": "clockout-crew",
                "shift_ids": ["shiftid-crew-0", "shiftid-crew-2"],
                "ended_at": _at(8.5),
                "break_minutes": 30,
                "split": split,
            },
        ),
        (
            0,
            "clock-out",
            {"id": "clockout-late", "shift_ids": ["shiftid-crew-0"], "ended_at": _at(9)},
        ),  # closed
        (
            1,
            "clock-out",
            {"id": "clockout-2", "shift_ids": ["shiftid-2"], "ended_at": _at(4.25)},
        ),  # before its start
        (
            1,
            "clock-out",
            {
                "id": "clockout-3",
                "shift_ids": ["shiftid-2"],
                "ended_at": _at(9),
                "break_minutes": 0,
                "per_shift": {
                    "shiftid-2": {
                        "mode": "hours",
                        "lines": [
                            {"milestone_id": m[1], "value": "3"},
                            {"milestone_id": m[0], "value": "1.5"},
                        ],
                    }
                },
            },
        ),
        (
            1,
            "clock-in",
            {
                "id": "clockin-overlap",
                "milestone_id": m[0],
                "started_at": _at(8.5),
                "members": [{"worker_id": w[1], "shift_id": "shiftid-overlap"}],
            },
        ),  # starts before the worker's last shift ended: held for the overlap
        (
            2,
            "clock-in",
            {
                "id": "clockin-3",
                "milestone_id": m[0],
                "started_at": _at(10),
                "members": [{"worker_id": w[2], "shift_id": "shiftid-3"}],
                "location": {"latitude": 40.7, "longitude": -74.0, "accuracy_m": 20},
            },
        ),
        (
            2,
            "clock-out",
            {"id": "clockout-4", "shift_ids": ["shiftid-3"], "ended_at": _at(11), "injured": True},
        ),
        (
            0,
            "clock-in",
            {
                "id": "clockin-4",
                "milestone_id": crew.unsynced_milestone,
                "started_at": _at(12),
                "members": [{"worker_id": w[0], "shift_id": "shiftid-4"}],
            },
        ),
        (
            0,
            "clock-in",
            {
                "id": "clockin-5",
                "milestone_id": m[0],
                "started_at": _at(12),
                "members": [{"worker_id": w[0], "shift_id": "shiftid-5"}],
            },
        ),
        (0, "clock-out", {"id": "clockout-5", "shift_ids": ["shiftid-5"], "ended_at": _at(12.1)}),
        (0, "clock-out", {"id": "clockout-6", "shift_ids": ["nobody-here"], "ended_at": _at(13)}),
        (0, "clock-in", {"id": "clockin-6", "milestone_id": m[0], "started_at": "yesterday", "members": []}),
    ]
    return [
        (who, path, {"injured": False, **body} if path == "clock-out" else body) for who, path, body in steps
    ]


def _namer(crew: Crew) -> Callable[..., Any]:
    """Replaces the company's own ids (workers, milestones, projects, people) by their role."""
    workers = {w: f"worker{n}" for n, w in enumerate(crew.workers)}
    milestones = {m: f"milestone{n}" for n, m in enumerate(crew.milestones)} | {
        crew.unsynced_milestone: "unsynced"
    }
    kinds: list[tuple[tuple[str, ...], dict[Any, str]]] = [
        (("worker_id", "_by_id", "clocked_in_by"), workers),
        (("milestone_id",), milestones),
        (("project_id",), {crew.project_id: "project"}),
        (("party_id",), {str(p): f"party-of-{workers[w]}" for w, p in crew.parties.items()}),
    ]
    dropped = {"id", "company_id", "connection_id", "created_at", "updated_at", "idempotency_key",
               "next_attempt_at", "expires_at"}  # fmt: skip

    def name(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: name(v, k) for k, v in value.items() if k not in dropped}
        if isinstance(value, list):
            return [name(v, key) for v in value]
        for ends, known in kinds:
            if key.endswith(ends):
                return known.get(value, known.get(str(value), value))
        if key in ("subject", "export_subjects") and ":m:" in value:  # a split line's subject
            head, _, milestone = value.rpartition(":m:")
            return f"{head}:m:{milestones.get(int(milestone), milestone)}"
        return value

    return name


async def _play(env: ProcoreEnv, client: httpx.AsyncClient, crew: Crew) -> list[Any]:
    name = _namer(crew)
    seen: list[Any] = []
    for who, path, body in _day(crew):
        response = await client.post(f"{API}/{path}", json=body, headers=crew.auth(crew.workers[who]))
        seen.append((path, body["id"], response.status_code, name(response.json())))
    company_id = crew.tenant.company.id
    async with env.db.transaction() as session:
        shifts = (await session.scalars(select(ClockShift).where(ClockShift.company_id == company_id))).all()
        by_id = {s.id: s.client_id for s in shifts}
        allocations = (
            await session.scalars(select(ClockAllocation).where(ClockAllocation.company_id == company_id))
        ).all()
        rows = (await session.scalars(select(Delivery).where(Delivery.company_id == company_id))).all()
    seen.append(sorted((name(columns(s)) for s in shifts), key=lambda s: s["client_id"]))
    seen.append(sorted((by_id[a.shift_id], a.position, name(a.milestone_id, "milestone_id"), a.centihours)
                       for a in allocations))  # fmt: skip
    seen.append(sorted((name(columns(r)) for r in rows), key=lambda r: (r["subject"], r["kind"])))
    return seen


def columns(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def _count(outcome: str) -> float:
    total = 0.0
    for call in ("clock_in", "clock_out"):
        total += (
            REGISTRY.get_sample_value("fieldbridge_hot_path_total", {"call": call, "outcome": outcome}) or 0
        )
    return total


async def test_a_day_on_the_hot_path_answers_and_writes_as_the_routes_do(procore_env: ProcoreEnv) -> None:
    env = procore_env
    routes_only = create_app(env.settings.model_copy(update={"hot_path": False}), http=env.http)
    await routes_only.state.db.dispose()
    routes_only.state.db = env.db
    hot_crew = await crew_env(env)
    route_crew = await crew_env(env)
    answered = _count("answered")
    hot = await _play(env, env.client, hot_crew)
    answered = _count("answered") - answered
    transport = httpx.ASGITransport(app=routes_only)
    async with httpx.AsyncClient(transport=transport, base_url=FIELDBRIDGE_URL) as client:
        before = _count("answered") + _count("declined")
        by_routes = await _play(env, client, route_crew)
        assert _count("answered") + _count("declined") == before  # that app has no hot path
    for mine, theirs in zip(hot, by_routes, strict=True):
        assert mine == theirs
    # The usual calls took the hot path: the crew's first clock-out, both self clock-ins and
    # their clock-outs, the crew clock-out with its split (the caches were filled by then).
    assert answered >= 5, answered
    codes = [status for _path, _id, status, _body in hot[: len(_day(hot_crew))]]
    assert codes == [
        201,
        200,
        409,
        403,
        200,
        200,
        201,
        200,
        409,
        422,
        200,
        201,
        201,
        200,
        422,
        201,
        200,
        404,
        422,
    ]
    overlap = [r for r in hot[-1] if "shiftid-overlap" in r["subject"]]
    assert [r["status"] for r in overlap] == ["held"]  # the hot path saw the overlap


def _clock_in(env: ProcoreEnv, crew: Crew, n: int) -> Any:
    """Worker n clocks itself in at hour n of the day, on the first milestone."""
    body = {
        "id": f"clockin-alone-{n}",
        "milestone_id": crew.milestones[0],
        "started_at": _at(n),
        "members": [{"worker_id": crew.workers[n], "shift_id": f"alone-shift-{n}"}],
    }
    return env.client.post(f"{API}/clock-in", json=body, headers=crew.auth(crew.workers[n]))


def _clock_out(env: ProcoreEnv, crew: Crew, n: int) -> Any:
    """Worker n clocks itself out of `_clock_in`'s shift, four hours after it started."""
    body = {
        "id": f"clockout-alone-{n}",
        "shift_ids": [f"alone-shift-{n}"],
        "ended_at": _at(n + 4),
        "injured": False,
    }
    return env.client.post(f"{API}/clock-out", json=body, headers=crew.auth(crew.workers[n]))


async def test_answered_calls_renew_the_cache_before_it_expires(procore_env: ProcoreEnv) -> None:
    """A busy company's calls keep what the hot path reads from the process cache alive: an
    entry near the end of its life still answers, and the call has it read again meanwhile, so
    the next calls do not meet a miss (which would send them to the route)."""
    env, crew = procore_env, await crew_env(procore_env)
    m = crew.milestones

    def clock_in(n: int) -> Any:
        return _clock_in(env, crew, n)

    first = await clock_in(0)
    assert first.status_code == 201, first.text  # cold: the route answers and fills the cache
    engine = env.db.engine.sync_engine
    company_id = crew.tenant.company.id
    kept = [(c._stores[engine].entries, k) for c in (service._CONNECTIONS, targets._KNOWN, policy._RULES)
            for k in (company_id, (company_id, m[0]))]  # fmt: skip
    kept = [(entries, k) for entries, k in kept if k in entries]
    assert len(kept) == 3
    ending = time.monotonic() + 1.0  # in the last share of its life
    for entries, k in kept:
        entries[k] = (ending, entries[k][1])
    answered = _count("answered")
    assert (await clock_in(1)).status_code == 201
    assert _count("answered") == answered + 1  # the aging entries still answer
    deadline = time.monotonic() + 5
    # The renewal reads the entries in turn, "shift.closed" last: wait for all of them.
    while any(entries[k][0] <= ending for entries, k in kept) or (
        events.cached_wants_shift_closed(engine, company_id) is None
    ):
        assert time.monotonic() < deadline, "the entries were not renewed"
        await asyncio.sleep(0.02)
    assert (await clock_in(2)).status_code == 201
    assert _count("answered") == answered + 2


async def test_calls_after_the_database_dropped_the_hot_paths_connections_are_answered(
    procore_env: ProcoreEnv,
) -> None:
    """A night's quiet, a database restart or a firewall may end the driver connections the hot
    path keeps: the next calls still get their answers (hot on a new connection, or from the
    route), never a 500."""
    env, crew = procore_env, await crew_env(procore_env)
    assert (await _clock_in(env, crew, 0)).status_code == 201
    assert (await _clock_in(env, crew, 1)).status_code == 201  # hot: a raw connection in use
    pool = env.db._raw_pool
    assert pool is not None
    pids = [conn.get_server_pid() for conn, _since in pool._idle]
    assert pids
    async with env.db.transaction() as session:
        await session.execute(
            text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"), {"pids": pids}
        )
    answered = _count("answered")
    assert (await _clock_in(env, crew, 2)).status_code == 201
    assert (await _clock_out(env, crew, 0)).status_code == 200
    assert _count("answered") > answered  # the hot path works again on new connections


async def test_a_body_not_sent_as_json_or_a_second_authorization_header_gets_the_routes_answer(
    procore_env: ProcoreEnv,
) -> None:
    """The hot path answers only what the route would accept as it is: a JSON body sent as
    text is the route's 422 (and a NUL in it never reaches the database), and of two
    Authorization headers the first counts, as it does for the route."""
    env, crew = procore_env, await crew_env(procore_env)
    assert (await _clock_in(env, crew, 0)).status_code == 201  # the caches are warm
    answered = _count("answered")
    body = {"id": "clockin-text", "milestone_id": crew.milestones[0], "started_at": _at(1),
            "members": [{"worker_id": crew.workers[1], "shift_id": "text-shift"}]}  # fmt: skip
    as_text = {**crew.auth(crew.workers[1]), "content-type": "text/plain"}
    sent = await env.client.post(f"{API}/clock-in", content=json.dumps(body), headers=as_text)
    assert sent.status_code == 422, sent.text
    nul = {"id": "clockout-nul", "shift_ids": ["alone\x00shift-0"], "ended_at": _at(2), "injured": False}
    sent = await env.client.post(f"{API}/clock-out", content=json.dumps(nul), headers=as_text)
    assert sent.status_code == 422, sent.text
    good = crew.auth(crew.workers[1])["Authorization"]
    twice = [
        ("authorization", good[:-4] + "xxxx"),
        ("authorization", good),
        ("content-type", "application/json"),
    ]
    sent = await env.client.post(f"{API}/clock-in", content=json.dumps(body), headers=twice)
    assert sent.status_code == 401, sent.text
    assert _count("answered") == answered
    async with env.db.transaction() as session:
        assert await session.scalar(select(ClockShift).where(ClockShift.client_id == "text-shift")) is None


async def test_a_clock_out_that_loses_a_deadlock_is_answered_by_its_route(procore_env: ProcoreEnv) -> None:
    """Another transaction locks a crew's shifts in the other order: PostgreSQL ends the hot
    path's statement (a deadlock), and the route answers the call instead of a 500."""
    import asyncpg

    env, crew = procore_env, await crew_env(procore_env)
    for n in range(3):
        assert (await _clock_in(env, crew, n)).status_code == 201
    assert (await _clock_out(env, crew, 0)).status_code == 200
    assert PG_URL is not None
    other = await asyncpg.connect(
        make_url(env.settings.database_url).set(drivername="postgresql").render_as_string(False)
    )
    lock = "SELECT 1 FROM clock_shifts WHERE client_id = $1 FOR UPDATE"
    declined = _count("declined")
    try:
        async with other.transaction():
            await other.execute(lock, "alone-shift-2")
            shifts = ["alone-shift-1", "alone-shift-2"]
            both = {"id": "clockout-both", "shift_ids": shifts, "ended_at": _at(5), "injured": False}
            call = asyncio.create_task(env.client.post(f"{API}/clock-out", json=both, headers=crew.auth()))
            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> $1"
            )
            deadline = time.monotonic() + 5
            while not await other.fetchval(waiting, other.get_server_pid()):  # holds shift 1, waits for 2
                assert time.monotonic() < deadline, "the clock-out never waited for the lock"
                await asyncio.sleep(0.02)
            await other.execute(lock, "alone-shift-1")  # a deadlock: the clock-out's statement ends
        answer = await call  # the route waited for this transaction to end, then closed both
    finally:
        await other.close()
    assert answer.status_code == 200, answer.text
    assert [s["status"] for s in answer.json()["shifts"]] == ["closed", "closed"]
    assert _count("declined") == declined + 1
