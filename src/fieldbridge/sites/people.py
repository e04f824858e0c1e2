"""Procore people (`party_id`) and the FieldBridge workers they are.

Matching, in order: email, employee id, then an unambiguous full name (`connectors.procore.
mapping.match_worker`). An admin can override any match (or unlink: a manual choice is never
redone automatically) and can create workers from unmatched people. Every link, by hand or
by matching, releases the time held for want of it (`holds.person_key`), with the person filled
in. Functions take a session and never commit.
"""

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts import service as accounts_service
from fieldbridge.accounts.models import Worker
from fieldbridge.accounts.repository import WorkerRepository
from fieldbridge.accounts.schemas import WorkerIn
from fieldbridge.connectors.procore import mapping
from fieldbridge.delivery import service as delivery
from fieldbridge.kit.errors import Conflict, NotFound
from fieldbridge.settings import Settings
from fieldbridge.sites.holds import person_key
from fieldbridge.sites.models import MatchMethod, ProcorePerson
from fieldbridge.sites.repository import SitesRepository

WORKER_SCAN_LIMIT = 100_000


async def apply_people(
    session: AsyncSession, company_id: int, connection_id: int, items: Sequence[dict[str, Any]]
) -> None:
    """Upsert the people Procore listed, deactivate the ones it no longer lists, then auto-match."""
    repo = SitesRepository.from_session(session)
    known = await repo.by_external(ProcorePerson, connection_id=connection_id)
    seen: set[int] = set()
    for item in items:
        ext = int(item["id"])
        seen.add(ext)
        row = known.get(ext)
        if row is None:
            row = ProcorePerson(company_id=company_id, connection_id=connection_id, external_id=ext, name="")
            await repo.add(row)
        for key, value in mapping.person_fields(item).items():
            setattr(row, key, value)
    for ext, row in known.items():
        if ext not in seen:
            row.active = False
    await repo.flush()
    await auto_match(session, company_id, connection_id)


async def _workers(session: AsyncSession, company_id: int) -> list[mapping.WorkerKeys]:
    rows, _ = await WorkerRepository.from_session(session).list(
        company_id, active=True, limit=WORKER_SCAN_LIMIT
    )
    return [mapping.WorkerKeys(w.id, w.email, w.employee_id, w.name) for w in rows]


async def auto_match(session: AsyncSession, company_id: int, connection_id: int) -> int:
    """Link unmatched people to workers; returns how many were linked."""
    repo = SitesRepository.from_session(session)
    people = await repo.by_external(ProcorePerson, connection_id=connection_id)
    pending = [p for p in people.values() if p.worker_id is None and p.match_method is None and p.active]
    if not pending:
        return 0
    workers = await _workers(session, company_id)
    taken = await repo.matched_worker_ids(connection_id)
    linked = 0
    for person in sorted(pending, key=lambda p: p.id):
        found = mapping.match_worker(
            {"email": person.email, "employee_id": person.employee_id, "name": person.name}, workers, taken
        )
        if found is not None:
            person.worker_id, person.match_method = found[0], MatchMethod(found[1])
            taken.add(found[0])
            linked += 1
            await release_held_time(session, person)
    return linked


async def release_held_time(session: AsyncSession, person: ProcorePerson) -> int:
    """The worker now has a person: send what was held for want of one, with its `party_id`."""
    if person.worker_id is None or not person.active:
        return 0
    return await delivery.release(
        session, person.company_id, person_key(person.worker_id), fill={"party_id": person.external_id}
    )


async def get_person(session: AsyncSession, company_id: int, person_id: int) -> ProcorePerson:
    person = await SitesRepository.from_session(session).person(company_id, person_id)
    if person is None:
        raise NotFound("No such Procore person in this company.")
    return person


async def set_worker(
    session: AsyncSession, company_id: int, person_id: int, worker_id: int | None
) -> ProcorePerson:
    """The admin's override: this person is that worker (or nobody)."""
    person = await get_person(session, company_id, person_id)
    if worker_id is not None:
        worker = await WorkerRepository.from_session(session).get(company_id, worker_id)
        if worker is None:
            raise NotFound("No such worker in this company.")
        other = await SitesRepository.from_session(session).person_of_worker(
            company_id, person.connection_id, worker_id
        )
        if other is not None and other.id != person.id:
            other.worker_id, other.match_method = None, MatchMethod.manual
    person.worker_id, person.match_method = worker_id, MatchMethod.manual
    await release_held_time(session, person)
    return person


async def create_worker_from(
    session: AsyncSession, settings: Settings, company_id: int, person_id: int
) -> tuple[ProcorePerson, Worker]:
    person = await get_person(session, company_id, person_id)
    if person.worker_id is not None:
        raise Conflict("This person is already linked to a worker.", code="already_linked")
    fields: dict[str, Any] = {
        "name": person.name,
        "title": person.job_title,
        "employee_id": person.employee_id,
    }
    try:
        data = WorkerIn.model_validate({**fields, "email": person.email})
    except ValidationError:  # an address Procore accepts but we do not: keep the worker, drop it
        data = WorkerIn.model_validate(fields)
    worker = await accounts_service.create_worker(session, settings, company_id, data)
    person.worker_id, person.match_method = worker.id, MatchMethod.created
    return person, worker


async def create_workers_for_unmatched(
    session: AsyncSession, settings: Settings, company_id: int, person_ids: Sequence[int]
) -> int:
    created = 0
    for person_id in person_ids:
        try:
            async with session.begin_nested():
                await create_worker_from(session, settings, company_id, person_id)
                created += 1
        except Conflict:
            continue
    return created


async def party_id_of_worker(
    session: AsyncSession, company_id: int, connection_id: int, worker_id: int
) -> int | None:
    """The Procore `party_id` to send a worker's timecards with (None: not matched yet)."""
    person = await SitesRepository.from_session(session).person_of_worker(
        company_id, connection_id, worker_id
    )
    return person.external_id if person is not None and person.active else None
