"""`fieldbridge webhooks receive`: the reference receiver as a real process. It prints each new
event once, refuses a bad signature, and acknowledges a duplicate webhook-id without printing."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

import fieldbridge
from fieldbridge.webhooks.signing import body_bytes, new_secret, signed_headers
from tests.browser import free_port


def _wait_listening(url: str, process: subprocess.Popen[str], patience: float = 60.0) -> None:
    deadline = time.monotonic() + patience  # a wait for start-up on a loaded machine, not a timing check
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the receiver did not start")


def test_the_reference_receiver_verifies_prints_and_deduplicates() -> None:
    old, new = new_secret(), new_secret()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDBRIDGE_")}
    env["PYTHONPATH"] = str(Path(fieldbridge.__file__).resolve().parents[1])
    code = "from fieldbridge.cli import app; app()"
    args = ["webhooks", "receive", "--secret", old, "--secret", new, "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/hooks"
    try:
        _wait_listening(url, process)
        body = body_bytes({"id": "msg_a", "type": "shift.closed", "data": {"shift_id": 1}})
        signed = signed_headers("msg_a", body, [new])
        assert httpx.post(url, content=body, headers=signed).status_code == 200
        assert httpx.post(url, content=body, headers=signed).json() == {"result": "duplicate"}
        forged = signed_headers("msg_b", body, [new_secret()])
        assert httpx.post(url, content=body, headers=forged).status_code == 401
        by_old = signed_headers("msg_c", body, [old])  # the old secret of a rotation still verifies
        assert httpx.post(url, content=body, headers=by_old).status_code == 200
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [line["webhook-id"] for line in lines] == ["msg_a", "msg_c"]
    assert lines[0]["event"]["data"] == {"shift_id": 1}
    assert "rejected: No matching signature found" in err
