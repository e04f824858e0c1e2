"""The `fieldbridge` command's rough edges: demo logins, a busy port, output width, bad settings."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fieldbridge
from fieldbridge.accounts import service as accounts
from fieldbridge.accounts.repository import CompanyRepository, UserRepository, WorkerRepository
from fieldbridge.accounts.schemas import WorkerPatch
from fieldbridge.cli import app as cli_app
from fieldbridge.cli import print_pairs
from fieldbridge.demo.company import DEMO_PASSWORD, DemoLogins, seed_demo
from fieldbridge.kit.crypto import hash_password
from fieldbridge.kit.db import Database
from fieldbridge.kit.errors import NotAuthenticated
from fieldbridge.settings import Settings


async def _seed(db: Database, settings: Settings) -> DemoLogins:
    async with db.transaction() as session:
        return await seed_demo(session, settings)


async def _every_printed_login_works(db: Database, settings: Settings, logins: DemoLogins) -> None:
    for login in logins.logins:
        if not login.works:
            continue
        async with db.transaction() as session:
            if login.label.startswith("Worker "):
                pin = login.login.removeprefix("PIN ")
                worker, _, _ = await accounts.sign_in_worker(session, settings, logins.company_code, pin)
                assert f"Worker {worker.name}" == login.label
            else:
                email, _, password = login.login.partition(" / ")
                await accounts.sign_in_user(session, settings, email, password)


async def test_demo_logins_are_what_is_stored_on_every_run(db: Database, settings: Settings) -> None:
    first = await _seed(db, settings)
    again = await _seed(db, settings)
    assert first == again
    assert all(login.works for login in again.logins)
    assert ("Worker Maria Lopez", "PIN 1001") in [(x.label, x.login) for x in again.logins]
    await _every_printed_login_works(db, settings, again)

    async with db.transaction() as session:  # what an admin may do between two demo runs
        company = await CompanyRepository.from_session(session).get_by_code("DEMO")
        assert company is not None
        company_id = company.id
        workers = WorkerRepository.from_session(session)
        maria = await workers.get_by_employee_id(company_id, "E3001")
        grace = await workers.get_by_employee_id(company_id, "E3006")
        assert maria is not None
        assert grace is not None
        await accounts.update_worker(session, settings, company_id, maria.id, WorkerPatch(pin="7777"))
        await accounts.update_worker(session, settings, company_id, grace.id, WorkerPatch(active=False))
        users = UserRepository.from_session(session)
        support = await users.get_by_email(company_id, "support@demo-builders.com")
        assert support is not None
        support.password_hash = hash_password("a-new-password-123")
    third = await _seed(db, settings)
    said = {login.label: login.login for login in third.logins}
    assert said["Worker Maria Lopez"].startswith("PIN is no longer 1001 (changed under Workers")
    assert said["Worker Grace Kim"] == "deactivated since the first run"
    assert said["Support"] == "support@demo-builders.com (password changed since the first run)"
    assert said["Admin"] == f"admin@demo-builders.com / {DEMO_PASSWORD}"
    assert said["Worker James Carter"] == "PIN 1002"
    await _every_printed_login_works(db, settings, third)
    async with db.transaction() as session:
        with pytest.raises(NotAuthenticated):
            await accounts.sign_in_worker(session, settings, "DEMO", "1001")

    other_key = settings.model_copy(update={"secret_key": settings.secret_key.__class__("k" * 40)})
    with_other_key = await _seed(db, other_key)
    assert not [x for x in with_other_key.logins if x.label.startswith("Worker ") and x.works]
    assert [x.works for x in with_other_key.logins if x.label == "Admin"] == [True]


def test_demo_on_a_busy_port_says_which_and_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        database = tmp_path / "demo.db"
        result = CliRunner().invoke(
            cli_app, ["demo", "--port", str(port), "--database-url", f"sqlite+aiosqlite:///{database}"]
        )
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f"Port {port} on 127.0.0.1 is in use" in lines[0]
    assert f"fieldbridge demo --port {port + 10}" in lines[0]
    assert not database.exists()  # nothing was started or written


def test_demo_output_keeps_links_whole_on_a_narrow_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    url = "http://127.0.0.1:8001/_sandbox/records/timecard_entries"
    print_pairs(
        "Procore (offline sandbox)", [("Sandbox", "http://127.0.0.1:8001"), ("Timecards in Procore", url)]
    )
    lines = capsys.readouterr().out.splitlines()
    assert f"  Timecards in Procore  {url}" in lines


def _fieldbridge(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point's behaviour (typer's CliRunner skips it)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FIELDBRIDGE_")}
    clean["PYTHONPATH"] = str(Path(fieldbridge.__file__).resolve().parents[1])
    code = "from fieldbridge.cli import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=clean | env, capture_output=True, text=True, timeout=120
    )


def test_serve_without_a_good_secret_is_a_short_message_that_never_echoes_it(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'fb.db'}"
    missing = _fieldbridge("serve", FIELDBRIDGE_ENV="production", FIELDBRIDGE_DATABASE_URL=database)
    short = _fieldbridge(
        "serve",
        FIELDBRIDGE_ENV="production",
        FIELDBRIDGE_SECRET_KEY="hunter2-short",
        FIELDBRIDGE_DATABASE_URL=database,
    )
    for result in (missing, short):
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert "head -c 36 /dev/urandom | base64" in result.stderr
    assert missing.stderr.startswith(
        "FIELDBRIDGE_SECRET_KEY is not set; FIELDBRIDGE_ENV=production needs one."
    )
    assert short.stderr.startswith("FIELDBRIDGE_SECRET_KEY is too short: it needs 32 characters or more.")
    assert "hunter2-short" not in short.stderr + short.stdout
    wrong = _fieldbridge("db", "check", FIELDBRIDGE_ENV="dev", FIELDBRIDGE_SESSION_HOURS="0")
    assert wrong.returncode == 2
    assert wrong.stderr == "FIELDBRIDGE_SESSION_HOURS: Input should be greater than or equal to 1\n"


def test_serve_refuses_a_connector_module_it_cannot_import_in_one_line(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'fb.db'}"
    result = _fieldbridge(
        "serve",
        FIELDBRIDGE_ENV="dev",
        FIELDBRIDGE_DATABASE_URL=database,
        FIELDBRIDGE_CONNECTOR_MODULES="fieldbridge_nowhere.connector",
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "FIELDBRIDGE_CONNECTOR_MODULES names 'fieldbridge_nowhere.connector', which cannot be imported"
    )
    assert result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "fb.db").exists()  # refused before anything was migrated
