"""Demo data: one company with an admin, a support user and a crew of workers."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts import service as accounts_service
from fieldbridge.accounts.models import Role
from fieldbridge.accounts.repository import CompanyRepository
from fieldbridge.accounts.schemas import UserIn, WorkerIn
from fieldbridge.settings import Settings

DEMO_COMPANY_CODE = "DEMO"
DEMO_PASSWORD = "fieldbridge-demo"
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
class DemoLogins:
    company_code: str
    admin_email: str
    support_email: str
    password: str
    worker_pins: list[tuple[str, str]]


async def seed_demo(session: AsyncSession, settings: Settings) -> DemoLogins:
    """Create the demo company once; a second call finds it and changes nothing."""
    logins = DemoLogins(
        company_code=DEMO_COMPANY_CODE,
        admin_email="admin@demo-builders.com",
        support_email="support@demo-builders.com",
        password=DEMO_PASSWORD,
        worker_pins=[(w[0], w[5]) for w in DEMO_WORKERS],
    )
    if await CompanyRepository.from_session(session).get_by_code(DEMO_COMPANY_CODE) is not None:
        return logins
    company = await accounts_service.create_company(session, "Demo Builders Inc.", DEMO_COMPANY_CODE)
    for email, name, role in (
        (logins.admin_email, "Dana Admin", Role.admin),
        (logins.support_email, "Sam Support", Role.support),
    ):
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
    return logins
