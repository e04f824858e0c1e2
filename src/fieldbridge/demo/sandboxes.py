"""The demo's offline sandboxes (Procore and ACC), each served by uvicorn in a daemon thread."""

import threading
import time
from typing import Any

import uvicorn


def serve_in_thread(app: Any, port: int, name: str) -> str:
    """Serve `app` on 127.0.0.1:`port` in a daemon thread; its URL once it accepts requests."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True, name=name).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the {name} did not start on {url}")
        time.sleep(0.05)
    return url


def start_acc_sandbox(port: int) -> str:
    """Serve the ACC sandbox (demo seed); returns its URL."""
    from fieldbridge_sandbox_acc import AccConfig, create_app

    return serve_in_thread(create_app(AccConfig(seed="demo")), port, "ACC sandbox")
