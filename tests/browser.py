"""Browser-test plumbing: a live FieldBridge server in a thread and Debian's Chromium via Playwright.

Browser tests are plain (sync) tests marked `browser`. Without /usr/bin/chromium they skip with
the reason, except under CI (env CI set), where a missing browser is a failure.
"""

import os
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn

from fieldbridge.app import create_app
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.sync import run_coroutine
from fieldbridge.settings import Settings
from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run async setup code from a sync (browser) test, even while Playwright holds a loop."""
    return run_coroutine(factory())


@contextmanager
def serve_in_thread(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a daemon thread; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"live server on {base} did not start")
        time.sleep(0.02)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def live_fieldbridge(settings: Settings, http: HttpClients | None = None) -> Iterator[str]:
    with serve_in_thread(create_app(settings, http=http)) as base:
        _wait_ready(base)
        yield base


def _wait_ready(base: str, patience: float = 60.0) -> None:
    """Until /readyz answers 200: a loaded machine may take a while (a wait, not a timing check)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            httpx.get(f"{base}/readyz", timeout=10).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI; .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium package to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in_at(page: Any, base: str, path: str, email: str) -> None:
    """Open `path`, which asks for a sign-in first, sign in as `email` and land back on it."""
    page.goto(f"{base}{path}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")
