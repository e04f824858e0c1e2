"""`fieldbridge admin`: the first company, admin and API key from a shell, on the real database."""

import asyncio

import httpx
import pytest
from typer.testing import CliRunner, Result

from fieldbridge.accounts import service
from fieldbridge.cli import app as cli_app
from fieldbridge.kit.db import Database
from fieldbridge.kit.errors import Conflict
from fieldbridge.settings import Settings
from tests.factories import bearer

PASSWORD = "correct-horse-battery"


async def _fieldbridge(settings: Settings, *args: str, stdin: str | None = None, **env: str) -> Result:
    """Run the CLI against the test database (in a thread: it runs its own event loop)."""
    runner = CliRunner()
    environ = {
        "FIELDBRIDGE_ENV": "test",
        "FIELDBRIDGE_DATABASE_URL": settings.database_url,
        "FIELDBRIDGE_BASE_URL": "https://fieldbridge.example.com",
        "FIELDBRIDGE_ADMIN_PASSWORD": "",
        **env,
    }
    return await asyncio.to_thread(lambda: runner.invoke(cli_app, list(args), input=stdin, env=environ))


async def test_first_company_admin_and_api_key_from_an_empty_database(
    settings: Settings, db: Database, client: httpx.AsyncClient
) -> None:
    made = await _fieldbridge(
        settings, "admin", "create-company", "--name", "Acme Builders", "--code", "acme"
    )
    assert made.exit_code == 0, made.output
    assert "code ACME" in made.output
    assert "fieldbridge admin create-user --company ACME" in made.output

    user = await _fieldbridge(
        settings,
        *("admin", "create-user", "--company", "acme", "--email", "Dana@Acme.com", "--name", "Dana Admin"),
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert user.exit_code == 0, user.output
    assert "Created admin dana@acme.com in Acme Builders (company code ACME)." in user.output
    assert "Sign in at https://fieldbridge.example.com/signin" in user.output
    assert PASSWORD not in user.output
    async with db.transaction() as session:
        signed = await service.sign_in_user(session, settings, "dana@acme.com", PASSWORD)
    assert signed.user.role == "admin"

    key = await _fieldbridge(settings, "admin", "create-api-key", "--company", "ACME", "--name", "setup")
    assert key.exit_code == 0, key.output
    token = key.stdout.strip()
    assert token.startswith("fbk_")
    assert "\n" not in token
    me = await client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["company_name"] == "Acme Builders"
    assert "users:write" in me.json()["scopes"]


async def test_password_from_the_environment_or_a_hidden_prompt(settings: Settings, db: Database) -> None:
    await _fieldbridge(settings, "admin", "create-company", "--name", "Acme", "--code", "ACME")
    from_env = await _fieldbridge(
        settings,
        *("admin", "create-user", "--company", "ACME", "--email", "sam@acme.com", "--name", "Sam"),
        *("--role", "support"),
        FIELDBRIDGE_ADMIN_PASSWORD=PASSWORD,
    )
    assert from_env.exit_code == 0, from_env.output
    assert "Created support sam@acme.com" in from_env.output
    prompted = await _fieldbridge(
        settings,
        *("admin", "create-user", "--company", "ACME", "--email", "ann@acme.com", "--name", "Ann"),
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output  # the prompt hides what is typed
    async with db.transaction() as session:
        for email in ("sam@acme.com", "ann@acme.com"):
            assert (await service.sign_in_user(session, settings, email, PASSWORD)).user.email == email


async def test_refusals_are_one_line_a_person_can_act_on(settings: Settings, db: Database) -> None:
    first = await _fieldbridge(settings, "admin", "create-company", "--name", "Acme", "--code", "ACME")
    assert first.exit_code == 0
    cases = [
        (("create-company", "--name", "Other", "--code", "acme"), 1, "code ACME already exists"),
        (("create-company", "--name", "X", "--code", "a b"), 2, "code: 'a b' must be 2 to 32 letters"),
        (("create-company", "--name", "X", "--code", "XY", "--timezone", "Mars/Base"), 2, "not a time zone"),
        (("create-api-key", "--company", "NOPE", "--name", "k"), 1, "No company with code NOPE"),
        (
            ("create-api-key", "--company", "ACME", "--name", "k", "--scope", "nope"),
            1,
            "Unknown scope(s): nope",
        ),
    ]
    for args, status, message in cases:
        result = await _fieldbridge(settings, "admin", *args)
        assert result.exit_code == status, (args, result.output)
        assert message in result.output, result.output
        assert "Traceback" not in result.output
    short = await _fieldbridge(
        settings,
        *("admin", "create-user", "--company", "ACME", "--email", "a@acme.com", "--name", "A"),
        "--password-stdin",
        stdin="short\n",
    )
    assert short.exit_code == 2
    assert "password: String should have at least 10 characters" in short.output
    twice = [
        await _fieldbridge(
            settings,
            *("admin", "create-user", "--company", "ACME", "--email", "b@acme.com", "--name", "B"),
            FIELDBRIDGE_ADMIN_PASSWORD=PASSWORD,
        )
        for _ in range(2)
    ]
    assert [r.exit_code for r in twice] == [0, 1]
    assert "This company already has a user with email b@acme.com." in twice[1].output


async def test_two_companies_created_at_once_with_one_code_is_a_conflict(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one writer: the second insert cannot race the first")
    async with db.sessionmaker() as first, db.sessionmaker() as second:
        await service.create_company(first, "First", "RACE")
        racing = asyncio.create_task(service.create_company(second, "Second", "RACE"))
        await asyncio.sleep(0.5)  # lets the second pass its check and wait on the first's insert
        await first.commit()
        with pytest.raises(Conflict, match="code RACE already exists"):
            await racing
        await second.rollback()
