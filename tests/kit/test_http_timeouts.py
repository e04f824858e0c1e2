"""FieldBridge's outbound clients time out even on an in-process transport (httpx's
ASGITransport ignores timeouts), so a hung sandbox surfaces as the client's own ReadTimeout."""

import httpx
import pytest

from fieldbridge.kit.http import HttpClients
from fieldbridge_sandbox import SandboxConfig, create_app
from fieldbridge_sandbox.config import Faults


async def test_an_in_process_hang_ends_at_the_clients_read_timeout() -> None:
    # The sandbox hangs 5 s, then raises its own SandboxTimeout (what a client without a working
    # timeout used to get); the client's 0.2 s read timeout must fire first.
    sandbox = create_app(SandboxConfig(faults=Faults(timeout_next=1, hang_seconds=5)))
    http = HttpClients(transport=httpx.ASGITransport(app=sandbox), timeout=httpx.Timeout(0.2))
    async with http.client("http://sandbox.test") as client:
        with pytest.raises(httpx.ReadTimeout) as caught:
            await client.get("/rest/v1.0/me")
        assert type(caught.value) is httpx.ReadTimeout  # the client's timeout, not the sandbox's
        assert "0.2 s" in str(caught.value)
        assert (await client.get("/rest/v1.0/me")).status_code == 401  # answered again: no token
