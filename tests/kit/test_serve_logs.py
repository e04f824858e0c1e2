"""Logs of a real `fieldbridge serve` process: one format (JSON lines), exceptions as data, and no
secret from a failing request's local variables, headers or form."""

import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import structlog

import fieldbridge
from fieldbridge.kit.db import Database
from fieldbridge.kit.logging import configure_logging
from fieldbridge.kit.migrate import upgrade
from fieldbridge.settings import Environment, Settings
from tests.browser import free_port
from tests.factories import create_tenant

PASSWORD = "Pw-hunter2-SECRET-7781"
SESSION = "fbs_SESSIONSECRET9f3a"
SECRET_KEY = "k" * 40


def _start(database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(fieldbridge.__file__).resolve().parents[1]),
        "FIELDBRIDGE_ENV": "production",
        "FIELDBRIDGE_SECRET_KEY": SECRET_KEY,
        "FIELDBRIDGE_DATABASE_URL": database_url,
        "FIELDBRIDGE_BASE_URL": f"http://127.0.0.1:{port}",
        "FIELDBRIDGE_RUNNER": "none",
        "FIELDBRIDGE_SCHEDULER": "false",
    }
    env.pop("FIELDBRIDGE_LOG_JSON", None)
    command = [sys.executable, "-c", "from fieldbridge.cli import app; app()", "serve", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError("serve exited during start-up")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not become ready")


@pytest.fixture
def broken_user_db(tmp_path: Path) -> tuple[str, str]:
    """A migrated database whose admin row cannot be read (a date that is not a date), so
    signing in fails inside the handler while the password is a local variable."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    settings = Settings(env=Environment.test, database_url=url)
    from tests.browser import run_async

    async def seed() -> str:
        db = Database(url)
        try:
            return (await create_tenant(db, settings)).admin.email
        finally:
            await db.dispose()

    email = run_async(seed)
    with sqlite3.connect(tmp_path / "serve.db") as conn:
        conn.execute("UPDATE users SET created_at = 'not a date' WHERE email = ?", (email,))
    return url, email


def test_serve_logs_are_json_lines_without_secrets(broken_user_db: tuple[str, str]) -> None:
    url, email = broken_user_db
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(url, port)
    try:
        _wait_ready(base, server)
        with httpx.Client(base_url=base) as client:
            pre = client.get("/signin").cookies["fb_presession"]
            client.cookies.set("fb_session", SESSION)
            failed = client.post(
                "/signin",
                data={"email": email, "password": PASSWORD, "pre_csrf": pre, "next": "/"},
                headers={"accept": "application/json"},
            )
        assert failed.status_code == 500
        assert failed.json()["error"]["code"] == "internal"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    lines = [line for line in output.splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON log line: {line[:200]}")
    failures = [r for r in records if "exception" in r]
    assert {r["logger"] for r in failures} >= {"fieldbridge.app", "uvicorn.error"}
    for record in failures:
        (exc,) = record["exception"][-1:]
        assert exc["exc_type"] == "ValueError"
        assert all("locals" not in frame for frame in exc["frames"])
    assert any(r.get("logger") == "uvicorn.access" for r in records)
    for secret in (PASSWORD, SESSION, SECRET_KEY):
        assert secret not in output


def test_console_tracebacks_show_no_locals(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=False, level=logging.INFO)

    def sign_in(password: str) -> None:
        pin = "PIN-4821-LOCAL"
        raise RuntimeError(f"database down ({len(password) + len(pin)})")

    try:
        sign_in(PASSWORD)
    except RuntimeError:
        structlog.get_logger("t").exception("http.unhandled")
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    out = capsys.readouterr().out
    assert "RuntimeError: database down" in out
    assert "in sign_in" in out
    assert PASSWORD not in out
    assert "PIN-4821-LOCAL" not in out
