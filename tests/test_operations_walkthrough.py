"""docs/operations.md's walk-through, run word for word: its bash blocks, in order, in one bash,
against a fresh PostgreSQL database and free ports. The page and the product cannot drift apart.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import fieldbridge
from fieldbridge.bench.testbed import free_port
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "operations.md"
HEADING = "## Walk-through: an empty PostgreSQL database to a delivered clock-out"
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def walkthrough_commands(markdown: str) -> list[str]:
    """The bash blocks of the walk-through section, in order."""
    start = markdown.index(HEADING)
    end = markdown.find("\n## ", start + len(HEADING))
    return BASH_BLOCK.findall(markdown[start : end if end != -1 else len(markdown)])


def test_the_walkthrough_section_is_shell_only() -> None:
    blocks = walkthrough_commands(DOC.read_text())
    assert len(blocks) >= 8
    script = "\n".join(blocks)
    assert 'createdb "$DB"' in script
    for step in ("db upgrade", "admin create-company", "admin create-user", "serve", "worker"):
        assert f"fieldbridge {step}" in script
    assert "python" not in script.lower()
    assert "FIELDBRIDGE_ALLOW_OFFLINE_SANDBOX=true" in script


def _environment(database: str, port: int, sandbox_port: int) -> dict[str, str]:
    assert PG_URL is not None
    server = make_url(PG_URL)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIELDBRIDGE_", "PG"))}
    bin_dir = str(Path(sys.executable).parent)  # where `fieldbridge` is installed
    env |= {
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(Path(fieldbridge.__file__).resolve().parents[1]),
        "DB": database,
        "PORT": str(port),
        "SANDBOX_PORT": str(sandbox_port),
        "PGHOST": server.host or "127.0.0.1",
        "PGPORT": str(server.port or 5432),
        "PGUSER": server.username or "postgres",
    }
    if server.password:
        env["PGPASSWORD"] = str(server.password)
    return env


def _drop(database: str) -> None:
    import psycopg

    assert PG_URL is not None
    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.mark.slow
def test_operations_walkthrough_delivers_a_clock_out_on_postgresql(tmp_path: Path) -> None:
    if PG_URL is None:
        pytest.skip("the walk-through runs on PostgreSQL: set FIELDBRIDGE_TEST_DATABASE_URL")
    for tool in ("bash", "curl", "createdb"):
        assert shutil.which(tool), f"the walk-through needs `{tool}` on PATH"
    database = f"fieldbridge_walkthrough_{os.getpid()}"
    port, sandbox_port = free_port(), free_port()
    script = "\n".join(walkthrough_commands(DOC.read_text()))
    _drop(database)
    output = tmp_path / "walkthrough.out"
    with output.open("w") as out:
        proc = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=_environment(database, port, sandbox_port),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its background servers are in its process group
        )
        try:
            status = proc.wait(timeout=600)  # a bound for a loaded machine, not a timing target
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # whatever a failed run left behind
            if proc.poll() is None:
                proc.wait(timeout=30)
            _drop(database)
    text = output.read_text()
    logs = {name: (tmp_path / name).read_text() for name in ("serve.log", "worker.log", "sandbox.log")}
    context = text + "".join(f"\n--- {name}\n{body[-3000:]}" for name, body in logs.items())
    assert status == 0, context
    assert f"Sign in at http://127.0.0.1:{port}/signin" in text, context
    assert '"last_synced_at":"' in text, context
    assert '"kind":"procore.timecard.create"' in text, context
    assert '"kind":"procore.timecard.update"' in text, context
    assert text.count('"status":"delivered"') == 2, context
    assert '"hours":"7.5"' in text, context
    assert re.search(r'"description":"[^"]*Maria Reed"', text), context
    assert "delivery.worker_started" in logs["worker.log"], context
    assert "delivery.drained" in logs["worker.log"], context
