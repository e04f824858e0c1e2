"""Demo data: one company with an admin, a support user and a crew of workers."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts import service as accounts_service
from fieldbridge.accounts.models import Company, Role
from fieldbridge.accounts.repository import CompanyRepository, UserRepository, WorkerRepository
from fieldbridge.accounts.schemas import UserIn, WorkerIn
from fieldbridge.accounts.service import pin_digest
from fieldbridge.kit.crypto import verify_password
from fieldbridge.settings import Settings

DEMO_COMPANY_CODE = "DEMO"
DEMO_PASSWORD = "fieldbridge-demo"
PIN_CHANGED = "changed under Workers, or FIELDBRIDGE_SECRET_KEY differs from the first run"
DEMO_WORKERS = [
    # name, title, trade, employee id, email, pin, foreman; the Procore sandbox's demo seed lists
    # the same people (DEMO_CREW), so each worker is matched to their own Procore person.
    ("Maria Lopez", "Foreman", "Concrete", "E3001", "maria.lopez@demo-builders.com", "1001", True),
    (
        "James Carter",
        "Journeyman",
        "Concrete",
        "E3002",
        "james.carter@demo-builders.com",
        "1002",
        False,
    ),
    (
        "Aisha Khan",
        "Apprentice",
        "Concrete",
        "E3003",
        "aisha.khan@demo-builders.com",
        "1003",
        False,
    ),
    (
        "Tom Nguyen",
        "Journeyman",
        "Electrical",
        "E3004",
        "tom.nguyen@demo-builders.com",
        "1004",
        False,
    ),
    ("Luis Ramirez", "Foreman", "Framing", "E3005", "luis.ramirez@demo-builders.com", "1005", True),
    ("Grace Kim", "Laborer", "General", "E3006", "grace.kim@demo-builders.com", "1006", False),
]


@dataclass(frozen=True)
class DemoLogin:
    label: str  # "Admin", "Worker Maria Lopez"
    login: str  # what to type, or why the demo value no longer works
    works: bool


@dataclass(frozen=True)
class DemoLogins:
    company_code: str
    logins: list[DemoLogin]


DEMO_USERS = [
    # label, email, name, role
    ("Admin", "admin@demo-builders.com", "Dana Admin", Role.admin),
    ("Support", "support@demo-builders.com", "Sam Support", Role.support),
]


async def seed_demo(session: AsyncSession, settings: Settings) -> DemoLogins:
    """Create the demo company once (a second call changes nothing), then report the logins
    as they are stored now: a PIN or password changed since, or a key the PINs were not
    made with, is said instead of printing a login that would not work."""
    company = await CompanyRepository.from_session(session).get_by_code(DEMO_COMPANY_CODE)
    if company is None:
        company = await _create(session, settings)
    return await _stored_logins(session, settings, company)


async def _create(session: AsyncSession, settings: Settings) -> Company:
    company = await accounts_service.create_company(session, "Demo Builders Inc.", DEMO_COMPANY_CODE)
    for _label, email, name, role in DEMO_USERS:
        await accounts_service.create_user(
            session, company.id, UserIn(email=email, name=name, role=role, password=DEMO_PASSWORD)
        )
    for name, title, trade, employee_id, email, pin, foreman in DEMO_WORKERS:
        await accounts_service.create_worker(
            session,
            settings,
            company.id,
            WorkerIn(
                name=name,
                title=title,
                trade=trade,
                employee_id=employee_id,
                email=email,
                pin=pin,
                is_foreman=foreman,
            ),
        )
    return company


async def _stored_logins(session: AsyncSession, settings: Settings, company: Company) -> DemoLogins:
    users = UserRepository.from_session(session)
    workers = WorkerRepository.from_session(session)
    logins: list[DemoLogin] = []
    for label, email, _name, _role in DEMO_USERS:
        user = await users.get_by_email(company.id, email)
        if user is None:
            continue
        if not user.active:
            logins.append(DemoLogin(label, f"{email} (deactivated since the first run)", False))
        elif not verify_password(user.password_hash, DEMO_PASSWORD):
            logins.append(DemoLogin(label, f"{email} (password changed since the first run)", False))
        else:
            logins.append(DemoLogin(label, f"{email} / {DEMO_PASSWORD}", True))
    for _name, *_, employee_id, _email, pin, _foreman in DEMO_WORKERS:
        worker = await workers.get_by_employee_id(company.id, employee_id)
        if worker is None:
            continue
        label = f"Worker {worker.name}"
        if not worker.active:
            logins.append(DemoLogin(label, "deactivated since the first run", False))
        elif worker.pin_digest != pin_digest(settings, company.id, pin):
            logins.append(DemoLogin(label, f"PIN is no longer {pin} ({PIN_CHANGED})", False))
        else:
            logins.append(DemoLogin(label, f"PIN {pin}", True))
    return DemoLogins(company_code=company.code, logins=logins)
