"""Rules of the accounts domain. Functions take a session and never commit."""

import csv
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.models import (
    ApiKey,
    Company,
    DeviceToken,
    Role,
    User,
    UserSession,
    Worker,
)
from fieldbridge.accounts.repository import (
    ApiKeyRepository,
    CompanyRepository,
    UserRepository,
    WorkerRepository,
)
from fieldbridge.accounts.schemas import ApiKeyIn, CsvImportResult, UserIn, WorkerIn, WorkerPatch
from fieldbridge.accounts.scopes import ALL_SCOPES
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import hash_password, new_token, token_digest, verify_password
from fieldbridge.kit.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    TooManyRequests,
    Unprocessable,
)
from fieldbridge.settings import Settings

API_KEY_PREFIX = "fbk"
DEVICE_TOKEN_PREFIX = "fbd"
SESSION_PREFIX = "fbs"
# A real hash, so a sign-in for an unknown email costs the same time as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str
    csrf_token: str


def pin_digest(settings: Settings, company_id: int, pin: str) -> str:
    return hmac.new(settings.secret.encode(), f"{company_id}:{pin}".encode(), hashlib.sha256).hexdigest()


async def _check_throttle(users: UserRepository, settings: Settings, key: str, now: datetime) -> None:
    since = now - timedelta(seconds=settings.signin_lockout_seconds)
    if await users.count_failures(key, since) >= settings.signin_max_failures:
        minutes = max(1, settings.signin_lockout_seconds // 60)
        raise TooManyRequests(
            f"Too many failed sign-ins. Wait {minutes} minute(s) and try again, or ask an admin to reset it.",
            headers={"Retry-After": str(settings.signin_lockout_seconds)},
        )


async def _record_failure(session: AsyncSession, key: str, now: datetime) -> None:
    """Failures must outlive the request's rollback, so they commit in a unit of work of their own."""
    bind = session.bind
    async with AsyncSession(bind=bind, expire_on_commit=False) as own:
        await UserRepository.from_session(own).add_failure(key, now)
        await own.commit()


async def sign_in_user(session: AsyncSession, settings: Settings, email: str, password: str) -> SignedIn:
    users = UserRepository.from_session(session)
    now = utcnow()
    key = f"user:{email.strip().lower()}"
    await _check_throttle(users, settings, key, now)
    user = await users.get_by_email(email)
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        await _record_failure(session, key, now)
        raise NotAuthenticated("Email or password is not right.", code="bad_credentials")
    await users.clear_failures(key)
    token = new_token(SESSION_PREFIX)
    csrf = secrets.token_urlsafe(24)
    await users.add_session(
        UserSession(
            company_id=user.company_id,
            user_id=user.id,
            token_digest=token_digest(token),
            csrf_token=csrf,
            created_at=now,
            expires_at=now + timedelta(hours=settings.session_hours),
        )
    )
    user.last_sign_in_at = now
    return SignedIn(user=user, token=token, csrf_token=csrf)


async def resolve_user_session(session: AsyncSession, token: str) -> tuple[User, UserSession] | None:
    users = UserRepository.from_session(session)
    user_session = await users.get_session_by_digest(token_digest(token), utcnow())
    if user_session is None:
        return None
    user = await users.get(user_session.company_id, user_session.user_id)
    if user is None or not user.active:
        return None
    return user, user_session


async def sign_out(session: AsyncSession, token: str) -> None:
    await UserRepository.from_session(session).delete_session(token_digest(token))


async def create_company(
    session: AsyncSession, name: str, code: str, timezone: str = "America/New_York"
) -> Company:
    companies = CompanyRepository.from_session(session)
    code = code.strip().upper()
    taken = Conflict(f"A company with code {code} already exists; choose another code.", code="code_taken")
    if await companies.get_by_code(code) is not None:
        raise taken
    try:
        return await companies.add(Company(name=name, code=code, timezone=timezone))
    except IntegrityError as exc:  # created by someone else between the check and the insert
        raise taken from exc


async def create_user(session: AsyncSession, company_id: int, data: UserIn) -> User:
    users = UserRepository.from_session(session)
    taken = Conflict(f"A user with email {data.email} already exists.", code="email_taken")
    if await users.get_by_email(data.email) is not None:
        raise taken
    try:
        return await users.add(
            User(
                company_id=company_id,
                email=data.email.lower(),
                name=data.name,
                role=Role(data.role),
                password_hash=hash_password(data.password),
            )
        )
    except IntegrityError as exc:  # created by someone else between the check and the insert
        raise taken from exc


async def get_user(session: AsyncSession, company_id: int, user_id: int) -> User:
    user = await UserRepository.from_session(session).get(company_id, user_id)
    if user is None:
        raise NotFound("No such user in this company.")
    return user


async def set_user_active(session: AsyncSession, company_id: int, user_id: int, active: bool) -> User:
    users = UserRepository.from_session(session)
    user = await get_user(session, company_id, user_id)
    user.active = active
    if not active:
        await users.delete_sessions_of(company_id, user_id)
    return user


async def get_worker(session: AsyncSession, company_id: int, worker_id: int) -> Worker:
    worker = await WorkerRepository.from_session(session).get(company_id, worker_id)
    if worker is None:
        raise NotFound("No such worker in this company.")
    return worker


async def _apply_worker(
    session: AsyncSession, settings: Settings, worker: Worker, fields: dict[str, object]
) -> Worker:
    workers = WorkerRepository.from_session(session)
    pin = fields.pop("pin", None)
    employee_id = fields.get("employee_id")
    if isinstance(employee_id, str) and employee_id:
        other = await workers.get_by_employee_id(worker.company_id, employee_id)
        if other is not None and other.id != worker.id:
            raise Conflict(
                f"Employee id {employee_id} already belongs to {other.name}.",
                code="employee_id_taken",
            )
    for key, value in fields.items():
        setattr(worker, key, value)
    if isinstance(pin, str):
        digest = pin_digest(settings, worker.company_id, pin)
        holder = await workers.get_by_pin(worker.company_id, digest)
        if holder is not None and holder.id != worker.id:
            raise Conflict("That PIN is already in use in this company; choose another.", code="pin_taken")
        worker.pin_digest = digest
    if worker.id is None:
        await workers.add(worker)
    else:
        try:
            await session.flush()
        except IntegrityError as exc:  # a concurrent writer took the same employee id or PIN
            raise Conflict("Another change to this worker happened at the same time; retry.") from exc
    return worker


async def create_worker(session: AsyncSession, settings: Settings, company_id: int, data: WorkerIn) -> Worker:
    fields = data.model_dump()
    return await _apply_worker(session, settings, Worker(company_id=company_id), fields)


async def update_worker(
    session: AsyncSession, settings: Settings, company_id: int, worker_id: int, data: WorkerPatch
) -> Worker:
    worker = await get_worker(session, company_id, worker_id)
    return await _apply_worker(session, settings, worker, data.model_dump(exclude_unset=True))


CSV_COLUMNS = ("name", "title", "trade", "employee_id", "email", "phone", "pin", "is_foreman")


async def import_workers_csv(
    session: AsyncSession, settings: Settings, company_id: int, text: str
) -> CsvImportResult:
    """Create or update workers from CSV (header row required; matched by employee_id)."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "name" not in reader.fieldnames:
        raise Unprocessable(
            "The CSV needs a header row with at least a 'name' column. Columns: " + ", ".join(CSV_COLUMNS)
        )
    workers = WorkerRepository.from_session(session)
    created = updated = 0
    errors: list[str] = []
    for line_no, row in enumerate(reader, start=2):
        raw = {k: (v or "").strip() for k, v in row.items() if k in CSV_COLUMNS}
        clean = {k: v for k, v in raw.items() if v}
        clean_any: dict[str, object] = dict(clean)
        clean_any["is_foreman"] = clean.get("is_foreman", "").lower() in ("1", "yes", "true", "y")
        try:
            data = WorkerIn.model_validate(clean_any)
        except ValidationError as exc:
            first = exc.errors()[0]
            errors.append(f"line {line_no}: {'.'.join(map(str, first['loc']))}: {first['msg']}")
            continue
        existing = (
            await workers.get_by_employee_id(company_id, data.employee_id) if data.employee_id else None
        )
        try:
            async with session.begin_nested():
                if existing is None:
                    await create_worker(session, settings, company_id, data)
                    created += 1
                else:
                    patch = WorkerPatch.model_validate(data.model_dump(exclude_unset=True))
                    await update_worker(session, settings, company_id, existing.id, patch)
                    updated += 1
        except Conflict as exc:
            errors.append(f"line {line_no}: {exc.message}")
    return CsvImportResult(created=created, updated=updated, errors=errors)


async def sign_in_worker(
    session: AsyncSession, settings: Settings, company_code: str, pin: str
) -> tuple[Worker, Company, str]:
    companies = CompanyRepository.from_session(session)
    users = UserRepository.from_session(session)
    now = utcnow()
    key = f"company:{company_code.strip().upper()}"
    await _check_throttle(users, settings, key, now)
    company = await companies.get_by_code(company_code)
    worker = None
    if company is not None:
        worker = await WorkerRepository.from_session(session).get_by_pin(
            company.id, pin_digest(settings, company.id, pin)
        )
    if company is None or worker is None or not worker.active:
        await _record_failure(session, key, now)
        raise NotAuthenticated(
            "Company code or PIN is not right. Ask your foreman or office for them.",
            code="bad_credentials",
        )
    token = new_token(DEVICE_TOKEN_PREFIX)
    await WorkerRepository.from_session(session).add_device(
        DeviceToken(
            company_id=company.id,
            worker_id=worker.id,
            token_digest=token_digest(token),
            created_at=now,
        )
    )
    return worker, company, token


async def create_api_key(session: AsyncSession, company_id: int, data: ApiKeyIn) -> tuple[ApiKey, str]:
    unknown = sorted(set(data.scopes) - ALL_SCOPES)
    if unknown:
        raise Unprocessable(
            f"Unknown scope(s): {', '.join(unknown)}. Known scopes: {', '.join(sorted(ALL_SCOPES))}.",
            code="unknown_scope",
        )
    token = new_token(API_KEY_PREFIX)
    key = await ApiKeyRepository.from_session(session).add(
        ApiKey(
            company_id=company_id,
            name=data.name,
            prefix=token[:10],
            token_digest=token_digest(token),
            scopes=sorted(set(data.scopes)),
            created_at=utcnow(),
        )
    )
    return key, token


async def get_api_key(session: AsyncSession, company_id: int, key_id: int) -> ApiKey:
    key = await ApiKeyRepository.from_session(session).get(company_id, key_id)
    if key is None:
        raise NotFound("No such API key in this company.")
    return key


async def revoke_api_key(session: AsyncSession, company_id: int, key_id: int) -> ApiKey:
    key = await get_api_key(session, company_id, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key
