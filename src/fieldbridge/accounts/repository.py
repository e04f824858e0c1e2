"""All SQL of the accounts domain. Every query of company data takes the company id."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from fieldbridge.accounts.models import (
    ApiKey,
    Company,
    DeviceToken,
    SignInThrottle,
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
    async def get_by_email(self, company_id: int, email: str) -> User | None:
        return await self.session.scalar(
            select(User).where(User.company_id == company_id, User.email == email.strip().lower())
        )

    async def all_by_email(self, email: str) -> Sequence[User]:
        """Every company's user with this email (emails are unique per company only); the one
        signed in most recently first. Sign-in only: it is the one query that crosses companies."""
        result = await self.session.scalars(
            select(User)
            .where(User.email == email.strip().lower())
            .order_by(User.last_sign_in_at.desc().nulls_last(), User.id)
        )
        return result.all()

    async def emails_only_here(self, company_id: int) -> list[str]:
        """Emails of this company's users that no other company's user has."""
        shared = select(User.email).where(User.company_id != company_id)
        result = await self.session.scalars(
            select(User.email).where(User.company_id == company_id, User.email.not_in(shared))
        )
        return list(result.all())

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


# What a CSV import may change on an existing worker.
IMPORTED_COLUMNS = ("name", "title", "trade", "employee_id", "email", "phone", "pin_digest", "is_foreman")

# Built once: every phone call runs it, and building it (and its cache key) per call cost more
# than a simple query's whole round trip.
_DEVICE_WITH_OWNER = (
    select(DeviceToken, Worker, Company)
    .join(Worker, (Worker.id == DeviceToken.worker_id) & (Worker.company_id == DeviceToken.company_id))
    .join(Company, Company.id == DeviceToken.company_id)
    .where(
        DeviceToken.token_digest == bindparam("digest"),
        DeviceToken.revoked_at.is_(None),
        DeviceToken.expires_at > bindparam("now"),
    )
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

    async def device_with_owner(
        self, digest: str, now: datetime
    ) -> tuple[DeviceToken, Worker, Company] | None:
        """A live device token with its worker and company, in one query (every phone call)."""
        row = (await self.session.execute(_DEVICE_WITH_OWNER, {"digest": digest, "now": now})).first()
        return None if row is None else (row[0], row[1], row[2])

    async def revoke_devices(self, company_id: int, worker_ids: Sequence[int], now: datetime) -> None:
        if not worker_ids:
            return
        await self.session.execute(
            update(DeviceToken)
            .where(
                DeviceToken.company_id == company_id,
                DeviceToken.worker_id.in_(worker_ids),
                DeviceToken.revoked_at.is_(None),
            )
            .values(revoked_at=now)
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
        """Rows carry `id` and the columns to change (a missing or None value keeps the old one).
        One statement, compiled once and run for every row (executemany): a VALUES list of the
        rows compiled per batch cost most of a large import. Workers this session holds are
        refreshed."""
        if not rows:
            return
        table = Worker.__table__
        assert isinstance(table, Table)
        changes: dict[str, Any] = {
            n: func.coalesce(bindparam(f"b_{n}", type_=table.c[n].type), table.c[n]) for n in IMPORTED_COLUMNS
        }
        changes["updated_at"] = bindparam("b_updated_at", type_=table.c.updated_at.type)
        stmt = (
            update(table)
            .where(table.c.company_id == company_id, table.c.id == bindparam("b_id"))
            .values(changes)
        )
        params = [
            {
                "b_id": r["id"],
                "b_updated_at": r["updated_at"],
                **{f"b_{n}": r.get(n) for n in IMPORTED_COLUMNS},
            }
            for r in rows
        ]
        await self.session.execute(stmt, params)
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


class ThrottleRepository(Repository):
    """Failed sign-in counters. `count_attempt` counts before the credentials are checked, in
    one statement that holds the row until commit, so concurrent attempts queue up on it."""

    def _insert(self) -> Insert:
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            return postgresql.insert(SignInThrottle)
        return sqlite.insert(SignInThrottle)

    async def count_attempt(self, key: str, now: datetime, window_start: datetime) -> int | None:
        """Count one attempt on `key`; its count in the window, or None while the key is blocked."""
        insert = self._insert().values(key=key, failures=1, last_failed_at=now, blocked_until=None)
        stmt = insert.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=[SignInThrottle.key],
            set_={
                "failures": case(
                    (SignInThrottle.last_failed_at < window_start, 1),
                    else_=SignInThrottle.failures + 1,
                ),
                "last_failed_at": now,
            },
            where=or_(SignInThrottle.blocked_until.is_(None), SignInThrottle.blocked_until <= now),
        ).returning(SignInThrottle.failures)
        count = (await self.session.execute(stmt)).scalar_one_or_none()
        return None if count is None else int(count)

    async def blocked_until(self, key: str) -> datetime | None:
        return await self.session.scalar(
            select(SignInThrottle.blocked_until).where(SignInThrottle.key == key)
        )

    async def block(self, key: str, until: datetime) -> None:
        await self.session.execute(
            update(SignInThrottle).where(SignInThrottle.key == key).values(blocked_until=until)
        )

    async def uncount(self, key: str) -> None:
        """Take back an attempt that turned out right."""
        await self.session.execute(
            update(SignInThrottle)
            .where(SignInThrottle.key == key)
            .values(failures=case((SignInThrottle.failures > 0, SignInThrottle.failures - 1), else_=0))
        )

    async def clear(self, key: str) -> None:
        await self.session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))

    @staticmethod
    def _under(prefixes: Sequence[str]) -> ColumnElement[bool]:
        """The keys `prefix` and `prefix:<anything>` of each prefix."""
        return or_(
            *(
                (SignInThrottle.key == p) | SignInThrottle.key.startswith(p + ":", autoescape=True)
                for p in prefixes
            )
        )

    async def list_under(self, prefixes: Sequence[str], now: datetime) -> Sequence[SignInThrottle]:
        if not prefixes:
            return []
        result = await self.session.scalars(
            select(SignInThrottle)
            .where(self._under(prefixes), SignInThrottle.blocked_until > now)
            .order_by(SignInThrottle.blocked_until.desc())
        )
        return result.all()

    async def clear_under(self, prefixes: Sequence[str]) -> int:
        if not prefixes:
            return 0
        result = await self.session.execute(delete(SignInThrottle).where(self._under(prefixes)))
        return int(getattr(result, "rowcount", 0) or 0)
