"""`fieldbridge admin ...`: the first company, its admin and an API key, from a shell.

Passwords never go on the command line: `--password-stdin`, FIELDBRIDGE_ADMIN_PASSWORD, or a
hidden prompt. What a person needs next (the company code, the sign-in URL) is printed; an API
key alone goes to stdout so `KEY=$(fieldbridge admin create-api-key ...)` works.
"""

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts import service
from fieldbridge.accounts.models import Company, Role
from fieldbridge.accounts.repository import CompanyRepository
from fieldbridge.accounts.schemas import ApiKeyIn, CompanyIn, UserIn
from fieldbridge.accounts.scopes import ALL_SCOPES
from fieldbridge.kit.db import Database
from fieldbridge.kit.errors import FieldBridgeError, NotFound
from fieldbridge.settings import Settings

PASSWORD_ENV = "FIELDBRIDGE_ADMIN_PASSWORD"

admin_app = typer.Typer(help="Companies, admin users and API keys.", no_args_is_help=True)
T = TypeVar("T")


def _fail(message: str, status: int) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(status)


def _validate(make: Callable[[], T]) -> T:
    """Build an input model; a wrong field becomes one line naming it, exit 2."""
    try:
        return make()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "input"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise _fail(f"{field}: {message}", 2) from None


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One unit of work on FIELDBRIDGE_DATABASE_URL; a refusal becomes its message, exit 1."""

    async def _go() -> T:
        database = Database(settings.database_url)
        try:
            async with database.transaction() as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(_go())
    except FieldBridgeError as exc:
        raise _fail(exc.message, 1) from None


async def _company(session: AsyncSession, code: str) -> Company:
    company = await CompanyRepository.from_session(session).get_by_code(code)
    if company is None:
        raise NotFound(
            f"No company with code {code.strip().upper()}. Create it with `fieldbridge admin create-company`."
        )
    return company


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    return str(typer.prompt("Password (10+ characters)", hide_input=True, confirmation_prompt=True))


@admin_app.command("create-company")
def create_company(
    name: str = typer.Option(..., help="The company's name, as people know it."),
    code: str = typer.Option(..., help="2-32 letters, digits or dashes; workers type it on the phone."),
    timezone: str = typer.Option("America/New_York", help="Where the crews work (IANA name)."),
) -> None:
    """Create a company (a tenant). Then create its first admin with `create-user`."""
    data = _validate(lambda: CompanyIn(name=name, code=code, timezone=timezone))
    settings = Settings()

    async def work(session: AsyncSession) -> Company:
        return await service.create_company(session, data.name, data.code, data.timezone)

    company = _run(settings, work)
    typer.echo(f"Created company {company.name} with code {company.code} (workers type it on the phone).")
    next_step = (
        f"fieldbridge admin create-user --company {company.code} --email you@example.com --name 'Your Name'"
    )
    typer.echo(f"Next: {next_step}")


@admin_app.command("create-user")
def create_user(
    company: str = typer.Option(..., help="The company code."),
    email: str = typer.Option(..., help="Signs in with this email."),
    name: str = typer.Option(..., help="Full name."),
    role: Role = typer.Option(Role.admin, help="admin (everything) or support (reads, retries)."),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help=f"Read the password from stdin's first line (else {PASSWORD_ENV}, else a prompt).",
    ),
) -> None:
    """Create an admin or support user who signs in to the admin pages."""
    password = _password(password_stdin)
    data = _validate(lambda: UserIn(email=email, name=name, role=role, password=password))
    settings = Settings()

    async def work(session: AsyncSession) -> str:
        owner = await _company(session, company)
        user = await service.create_user(session, owner.id, data)
        return f"Created {user.role} {user.email} in {owner.name} (company code {owner.code})."

    typer.echo(_run(settings, work))
    typer.echo(f"Sign in at {settings.base_url.rstrip('/')}/signin")


@admin_app.command("create-api-key")
def create_api_key(
    company: str = typer.Option(..., help="The company code."),
    name: str = typer.Option(..., help="What the key is for (shown in Settings -> API keys)."),
    scope: list[str] = typer.Option(
        None, help="A scope it holds; repeat for more. Default: every scope (like an admin)."
    ),
) -> None:
    """Create an API key for scripts and integrations; only the key is printed on stdout (once)."""
    data = _validate(lambda: ApiKeyIn(name=name, scopes=scope or sorted(ALL_SCOPES)))
    settings = Settings()

    async def work(session: AsyncSession) -> tuple[str, str]:
        owner = await _company(session, company)
        key, token = await service.create_api_key(session, owner.id, data)
        return token, f"API key {key.name!r} for {owner.name}: {', '.join(key.scopes)}"

    token, summary = _run(settings, work)
    typer.echo(f"{summary}. Shown once; send it as `Authorization: Bearer <key>`.", err=True)
    typer.echo(token)
