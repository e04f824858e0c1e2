"""`fieldbridge sandbox acc` serves the sandbox on the port it is given."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
from typer.testing import CliRunner

from fieldbridge.cli import app as cli_app
from tests.browser import free_port


def test_cli_refuses_an_unknown_seed() -> None:
    result = CliRunner().invoke(cli_app, ["sandbox", "acc", "--seed", "huge"])
    assert result.exit_code == 2
    assert "seed must be demo or empty" in result.output


def test_cli_serves_the_demo_seed_with_the_faults_it_was_given() -> None:
    port = free_port()
    command = [sys.executable, "-c", "from fieldbridge.cli import app; app()", "sandbox", "acc"]
    args = ["--port", str(port), "--seed", "demo", "--error-rate", "0.25", "--random-seed", "7"]
    process = subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60  # a wait for start-up on a loaded machine, not a timing check
        while True:
            try:
                ids = httpx.get(f"{base}/_sandbox/ids", timeout=5).json()
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "the ACC sandbox did not start"
                time.sleep(0.2)
        assert len(ids["projects"]) == 4
        faults = httpx.get(f"{base}/_sandbox/faults", timeout=5).json()
        assert faults["error_rate"] == 0.25
        assert faults["random_seed"] == 7
    finally:
        process.terminate()
        process.wait(timeout=20)
