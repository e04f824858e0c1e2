"""Procore people (`party_id`) and the FieldBridge workers they are.

Matching, in order: email, employee id, then an unambiguous full name
(`sites.matching.match_worker`). A match whose name or email contradicts it (employee id E1001 on
"Alex Carter" and on worker "Maria Lopez") is not a link but a conflict: the person keeps the
suggested worker and the reason until an admin confirms or chooses. Automatic links are
checked again on every sync. An admin can override any match (or unlink: a manual choice is
never redone automatically) and can create workers from unmatched people. Every link, by hand
or by matching, releases the time held for want of it (`holds.person_key`), with the person
filled in. Functions take a session and never commit.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts import service as accounts_service
from fieldbridge.accounts.models import Worker
from fieldbridge.accounts.repository import WorkerRepository
from fieldbridge.accounts.schemas import WorkerIn
from fieldbridge.delivery import service as delivery
from fieldbridge.kit.errors import Conflict, NotFound
from fieldbridge.settings import Settings
from fieldbridge.sites import matching
from fieldbridge.sites.holds import person_key
from fieldbridge.sites.models import MatchMethod, ProcorePerson
from fieldbridge.sites.repository import SitesRepository

WORKER_SCAN_LIMIT = 100_000
AUTOMATIC = frozenset({MatchMethod.email, MatchMethod.employee_id, MatchMethod.name})


def _words(name: str | None) -> set[str]:
    return {w for w in matching.normal_name(name).split() if len(w) > 1}


def _email(value: str | None) -> str:
    return (value or "").strip().lower()


def contradiction(person: ProcorePerson, worker: matching.WorkerKeys, method: str) -> str | None:
    """Why this person is probably not this worker, or None when nothing disagrees: emails
    both present and different, or names without a word in common ("M. Gonzalez" and
    "Maria Gonzalez" agree; "Alex Carter" and "Maria Lopez" do not)."""
    problems = []
    if _words(person.name) and _words(worker.name) and not _words(person.name) & _words(worker.name):
        problems.append(f"the names differ ({person.name} in Procore)")
    if _email(person.email) and _email(worker.email) and _email(person.email) != _email(worker.email):
        problems.append(f"the emails differ ({person.email} in Procore, {worker.email} here)")
    if not problems:
        return None
    by = method.replace("_", " ")
    text = f"Same {by} as worker {worker.name}, but {' and '.join(problems)}. Confirm or choose the worker."
    return text[:300]


async def apply_people(
    session: AsyncSession, company_id: int, connection_id: int, people: Mapping[str, Mapping[str, Any]]
) -> None:
    """Upsert the people the platform listed (external id -> `ProcorePerson` columns, as the
    connector maps them), deactivate the ones it no longer lists, then auto-match."""
    await _upsert(session, company_id, connection_id, people, complete=True)


async def apply_some(
    session: AsyncSession, company_id: int, connection_id: int, people: Mapping[str, Mapping[str, Any]]
) -> None:
    """Upsert a few people read back after an event; the others are left as they are."""
    await _upsert(session, company_id, connection_id, people, complete=False)


async def _upsert(
    session: AsyncSession,
    company_id: int,
    connection_id: int,
    people: Mapping[str, Mapping[str, Any]],
    *,
    complete: bool,
) -> None:
    repo = SitesRepository.from_session(session)
    known = await repo.by_external(ProcorePerson, connection_id=connection_id)
    for ext, fields in people.items():
        row = known.get(ext)
        if row is None:
            row = ProcorePerson(company_id=company_id, connection_id=connection_id, external_id=ext, name="")
            await repo.add(row)
        for key, value in fields.items():
            setattr(row, key, value)
    if complete:
        for ext, row in known.items():
            if ext not in people:
                row.active = False
    await repo.flush()
    await auto_match(session, company_id, connection_id)


async def _workers(session: AsyncSession, company_id: int) -> list[matching.WorkerKeys]:
    rows, _ = await WorkerRepository.from_session(session).list(
        company_id, active=True, limit=WORKER_SCAN_LIMIT
    )
    return [matching.WorkerKeys(w.id, w.email, w.employee_id, w.name) for w in rows]


async def auto_match(session: AsyncSession, company_id: int, connection_id: int) -> int:
    """Link unmatched people to workers; returns how many were linked. A match that a name or
    email contradicts becomes a conflict, and so does an earlier automatic link that now does."""
    repo = SitesRepository.from_session(session)
    people = await repo.by_external(ProcorePerson, connection_id=connection_id)
    if not people:
        return 0
    workers = await _workers(session, company_id)
    by_id = {w.id: w for w in workers}
    for person in people.values():
        worker = by_id.get(person.worker_id or 0)
        method = person.match_method
        reason = contradiction(person, worker, method) if worker and method in AUTOMATIC else None
        if reason is not None:
            person.worker_id, person.match_method = None, None
            person.suggested_worker_id, person.conflict = worker.id if worker else None, reason
    pending = [p for p in people.values() if p.worker_id is None and p.match_method is None and p.active]
    taken = {p.worker_id for p in people.values() if p.worker_id is not None}
    linked = 0
    for person in sorted(pending, key=lambda p: p.id):
        found = matching.match_worker(
            {"email": person.email, "employee_id": person.employee_id, "name": person.name}, workers, taken
        )
        reason = contradiction(person, by_id[found[0]], found[1]) if found is not None else None
        person.suggested_worker_id, person.conflict = (found[0], reason) if found and reason else (None, None)
        if found is not None and reason is None:
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
        if not worker.title and person.job_title:  # the role on site, where nobody typed one
            worker.title = person.job_title[:120]
    person.worker_id, person.match_method = worker_id, MatchMethod.manual
    person.suggested_worker_id, person.conflict = None, None
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
    person.suggested_worker_id, person.conflict = None, None
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
) -> str | None:
    """The Procore `party_id` to send a worker's timecards with (None: not matched yet)."""
    person = await SitesRepository.from_session(session).person_of_worker(
        company_id, connection_id, worker_id
    )
    return person.external_id if person is not None and person.active else None
