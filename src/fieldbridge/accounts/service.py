"""Rules of the accounts domain. Functions take a session and never commit."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from anyio import to_thread
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts import throttle
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
from fieldbridge.accounts.schemas import ApiKeyIn, CompanyPatch, UserIn, WorkerIn, WorkerPatch
from fieldbridge.accounts.scopes import ALL_SCOPES
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import hash_password, new_token, token_digest, verify_password
from fieldbridge.kit.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    Unprocessable,
)
from fieldbridge.kit.zones import DEFAULT_ZONE, zone
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


async def sign_in_user(
    session: AsyncSession, settings: Settings, email: str, password: str, source: str = ""
) -> SignedIn:
    """`source` is the caller's client address. Failures are counted in `session`, so the
    caller commits it also when this raises (the sign-in page renders the error and commits)."""
    now = utcnow()
    counted = await throttle.count_attempt(session, settings, throttle.user_keys(email, source), now)
    user = None
    candidates = await UserRepository.from_session(session).all_by_email(email)
    for candidate in candidates:
        if candidate.active and await to_thread.run_sync(verify_password, candidate.password_hash, password):
            user = candidate
            break
    if not candidates:  # an unknown email costs what a wrong password costs
        await to_thread.run_sync(verify_password, _DUMMY_HASH, password)
    if user is None:
        await throttle.failed(session, settings, counted, now)
        raise NotAuthenticated("Email or password is not right.", code="bad_credentials")
    await throttle.succeeded(session, counted)
    token = new_token(SESSION_PREFIX)
    csrf = secrets.token_urlsafe(24)
    await UserRepository.from_session(session).add_session(
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
    session: AsyncSession, name: str, code: str, timezone: str = DEFAULT_ZONE
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


async def company_zone(session: AsyncSession, company_id: int) -> ZoneInfo:
    """The company's time zone: what a shift is dated and shown in when its project has none.
    No query on a phone's call (sign-in keeps the company row in the unit of work), and no
    cache to go stale when an admin changes it."""
    company = await CompanyRepository.from_session(session).get(company_id)
    return zone(company.timezone if company else None)


async def update_company(session: AsyncSession, company_id: int, data: CompanyPatch) -> Company:
    company = await get_company(session, company_id)
    if data.time_zone is not None:
        company.timezone = data.time_zone
    return company


async def get_company(session: AsyncSession, company_id: int) -> Company:
    company = await CompanyRepository.from_session(session).get(company_id)
    if company is None:
        raise NotFound("No such company.")
    return company


async def create_user(session: AsyncSession, company_id: int, data: UserIn) -> User:
    users = UserRepository.from_session(session)
    taken = Conflict(f"This company already has a user with email {data.email}.", code="email_taken")
    # Only this company's users are looked at: another company's use of the address is none
    # of this admin's business (emails are unique per company).
    if await users.get_by_email(company_id, data.email) is not None:
        raise taken
    user = User(
        company_id=company_id,
        email=data.email.lower(),
        name=data.name,
        role=Role(data.role),
        password_hash=hash_password(data.password),
    )
    try:
        async with session.begin_nested():
            return await users.add(user)
    except IntegrityError as exc:  # a concurrent request added the same email here
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
    was_active = worker.active
    for key, value in fields.items():
        setattr(worker, key, value)
    revoke = worker.id is not None and was_active and not worker.active
    if isinstance(pin, str):
        digest = pin_digest(settings, worker.company_id, pin)
        holder = await workers.get_by_pin(worker.company_id, digest)
        if holder is not None and holder.id != worker.id:
            raise Conflict("That PIN is already in use in this company; choose another.", code="pin_taken")
        revoke = revoke or (worker.id is not None and worker.pin_digest != digest)
        worker.pin_digest = digest
    if revoke:  # a new PIN or a deactivation signs every phone of the worker out, for good
        await workers.revoke_devices(worker.company_id, [worker.id], utcnow())
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


async def sign_in_worker(
    session: AsyncSession, settings: Settings, company_code: str, pin: str, source: str = ""
) -> tuple[Worker, Company, str]:
    """`source` names the phone (its device id, else its client address). Failures are counted
    in `session`: the caller commits it also when this raises (`KeptSessionDep`)."""
    now = utcnow()
    counted = await throttle.count_attempt(session, settings, throttle.phone_keys(company_code, source), now)
    company = await CompanyRepository.from_session(session).get_by_code(company_code)
    workers = WorkerRepository.from_session(session)
    worker = None
    if company is not None:
        worker = await workers.get_by_pin(company.id, pin_digest(settings, company.id, pin))
    if company is None or worker is None or not worker.active:
        await throttle.failed(session, settings, counted, now)
        raise NotAuthenticated(
            "Company code or PIN is not right. Ask your foreman or office for them.",
            code="bad_credentials",
        )
    await throttle.succeeded(session, counted)
    token = new_token(DEVICE_TOKEN_PREFIX)
    await workers.add_device(
        DeviceToken(
            company_id=company.id,
            worker_id=worker.id,
            token_digest=token_digest(token),
            created_at=now,
            expires_at=now + timedelta(days=settings.device_token_days),
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
