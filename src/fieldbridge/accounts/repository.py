"""All SQL of the accounts domain. Every query of company data takes the company id."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Boolean, bindparam, cast, column, delete, func, insert, select, update, values

from fieldbridge.accounts.models import (
    ApiKey,
    Company,
    DeviceToken,
    SignInFailure,
    User,
    UserSession,
    Worker,
)
from fieldbridge.kit.repository import Repository


class CompanyRepository(Repository):
    async def get(self, company_id: int) -> Company | None:
        return await self.session.get(Company, company_id)

    async def get_by_code(self, code: str) -> Company | None:
        return await self.session.scalar(select(Company).where(Company.code == code.strip().upper()))

    async def add(self, company: Company) -> Company:
        self.session.add(company)
        await self.session.flush()
        return company


class UserRepository(Repository):
    async def get_by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == email.strip().lower()))

    async def get(self, company_id: int, user_id: int) -> User | None:
        return await self.session.scalar(
            select(User).where(User.company_id == company_id, User.id == user_id)
        )

    async def list(self, company_id: int) -> Sequence[User]:
        result = await self.session.scalars(
            select(User).where(User.company_id == company_id).order_by(User.name)
        )
        return result.all()

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def get_session_by_digest(self, digest: str, now: datetime) -> UserSession | None:
        return await self.session.scalar(
            select(UserSession).where(UserSession.token_digest == digest, UserSession.expires_at > now)
        )

    async def add_session(self, user_session: UserSession) -> None:
        self.session.add(user_session)
        await self.session.flush()

    async def delete_session(self, digest: str) -> None:
        await self.session.execute(delete(UserSession).where(UserSession.token_digest == digest))

    async def delete_sessions_of(self, company_id: int, user_id: int) -> None:
        await self.session.execute(
            delete(UserSession).where(UserSession.company_id == company_id, UserSession.user_id == user_id)
        )

    async def count_failures(self, key: str, since: datetime) -> int:
        count = await self.session.scalar(
            select(func.count()).where(SignInFailure.key == key, SignInFailure.failed_at > since)
        )
        return int(count or 0)

    async def add_failure(self, key: str, at: datetime) -> None:
        self.session.add(SignInFailure(key=key, failed_at=at))
        await self.session.flush()

    async def clear_failures(self, key: str) -> None:
        await self.session.execute(delete(SignInFailure).where(SignInFailure.key == key))


# What a CSV import may change on an existing worker.
IMPORTED_COLUMNS = ("name", "title", "trade", "employee_id", "email", "phone", "pin_digest", "is_foreman")

# Built once: every phone call runs it, and building it (and its cache key) per call cost more
# than a simple query's whole round trip.
_DEVICE_WITH_OWNER = (
    select(DeviceToken, Worker, Company)
    .join(Worker, (Worker.id == DeviceToken.worker_id) & (Worker.company_id == DeviceToken.company_id))
    .join(Company, Company.id == DeviceToken.company_id)
    .where(DeviceToken.token_digest == bindparam("digest"), DeviceToken.revoked_at.is_(None))
)


class WorkerRepository(Repository):
    async def get(self, company_id: int, worker_id: int) -> Worker | None:
        return await self.session.scalar(
            select(Worker).where(Worker.company_id == company_id, Worker.id == worker_id)
        )

    async def get_many(self, company_id: int, worker_ids: Sequence[int]) -> Sequence[Worker]:
        result = await self.session.scalars(
            select(Worker).where(Worker.company_id == company_id, Worker.id.in_(worker_ids))
        )
        return result.all()

    async def get_by_employee_id(self, company_id: int, employee_id: str) -> Worker | None:
        return await self.session.scalar(
            select(Worker).where(Worker.company_id == company_id, Worker.employee_id == employee_id)
        )

    async def list(
        self,
        company_id: int,
        *,
        q: str | None = None,
        active: bool | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[Sequence[Worker], int]:
        stmt = select(Worker).where(Worker.company_id == company_id)
        if q:
            like = f"%{q.strip().lower()}%"
            stmt = stmt.where(
                func.lower(Worker.name).like(like)
                | func.lower(func.coalesce(Worker.employee_id, "")).like(like)
                | func.lower(func.coalesce(Worker.email, "")).like(like)
            )
        if active is not None:
            stmt = stmt.where(Worker.active == active)
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.session.scalars(stmt.order_by(Worker.name, Worker.id).offset(offset).limit(limit))
        return rows.all(), int(total or 0)

    async def get_by_pin(self, company_id: int, pin_digest: str) -> Worker | None:
        return await self.session.scalar(
            select(Worker).where(Worker.company_id == company_id, Worker.pin_digest == pin_digest)
        )

    async def add(self, worker: Worker) -> Worker:
        self.session.add(worker)
        await self.session.flush()
        return worker

    async def device_with_owner(self, digest: str) -> tuple[DeviceToken, Worker, Company] | None:
        """A live device token with its worker and company, in one query (every phone call)."""
        row = (await self.session.execute(_DEVICE_WITH_OWNER, {"digest": digest})).first()
        return None if row is None else (row[0], row[1], row[2])

    async def get_device_by_digest(self, digest: str) -> DeviceToken | None:
        return await self.session.scalar(
            select(DeviceToken).where(DeviceToken.token_digest == digest, DeviceToken.revoked_at.is_(None))
        )

    async def add_device(self, device: DeviceToken) -> None:
        self.session.add(device)
        await self.session.flush()

    # Bulk steps of the CSV import: one query for the keys, batched inserts and updates.

    async def import_keys(self, company_id: int) -> tuple[dict[str, int], dict[str, int]]:
        """Worker ids by employee id and by PIN digest, for the whole company in one query: cheaper
        than thousands of `IN (...)` lookups (PostgreSQL plans those as scans once a big import
        has just filled the table)."""
        rows = await self.session.execute(
            select(Worker.id, Worker.employee_id, Worker.pin_digest).where(
                Worker.company_id == company_id,
                Worker.employee_id.is_not(None) | Worker.pin_digest.is_not(None),
            )
        )
        by_employee_id: dict[str, int] = {}
        by_pin: dict[str, int] = {}
        for worker_id, employee_id, digest in rows.all():
            if employee_id is not None:
                by_employee_id[employee_id] = worker_id
            if digest is not None:
                by_pin[digest] = worker_id
        return by_employee_id, by_pin

    async def insert_many(self, rows: Sequence[dict[str, object]]) -> None:
        if rows:
            await self.session.execute(insert(Worker), list(rows))

    async def update_many(self, company_id: int, rows: Sequence[dict[str, object]]) -> None:
        """Rows carry `id` and the columns to change (a missing or None value keeps the old one);
        each batch is one `WITH given AS (VALUES ...) UPDATE ... FROM given`. Workers this session
        holds are refreshed."""
        names = ["id", *IMPORTED_COLUMNS, "updated_at"]
        types = {n: Worker.__table__.c[n].type for n in names}
        for start in range(0, len(rows), 500):
            batch = [tuple(row.get(n) for n in names) for row in rows[start : start + 500]]
            given = values(*(column(n, types[n]) for n in names), name="given").data(batch).cte("given")
            # PostgreSQL reads a VALUES column of only NULLs as text, which COALESCE cannot match
            # with a boolean (text columns are fine, and SQLite would turn a cast datetime into a year).
            typed = {n: cast(given.c[n], Boolean) if n == "is_foreman" else given.c[n] for n in names}
            changes = {n: func.coalesce(typed[n], getattr(Worker, n)) for n in IMPORTED_COLUMNS}
            await self.session.execute(
                update(Worker)
                .where(Worker.company_id == company_id, Worker.id == typed["id"])
                .values(**changes, updated_at=typed["updated_at"])
                .execution_options(synchronize_session=False)
            )
        changed = {row["id"] for row in rows}
        for held in [w for w in self.session.identity_map.values() if isinstance(w, Worker)]:
            if held.id in changed:
                await self.session.refresh(held)


class ApiKeyRepository(Repository):
    async def get(self, company_id: int, key_id: int) -> ApiKey | None:
        return await self.session.scalar(
            select(ApiKey).where(ApiKey.company_id == company_id, ApiKey.id == key_id)
        )

    async def get_by_digest(self, digest: str) -> ApiKey | None:
        return await self.session.scalar(
            select(ApiKey).where(ApiKey.token_digest == digest, ApiKey.revoked_at.is_(None))
        )

    async def list(self, company_id: int) -> Sequence[ApiKey]:
        result = await self.session.scalars(
            select(ApiKey).where(ApiKey.company_id == company_id).order_by(ApiKey.created_at.desc())
        )
        return result.all()

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key
