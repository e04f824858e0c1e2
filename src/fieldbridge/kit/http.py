"""Outbound HTTP: one factory for every httpx client FieldBridge makes.

Tests and the in-process demo hand it a transport (e.g. `httpx.ASGITransport(sandbox_app)`),
so connectors talk to the offline sandbox without patching anything.
"""

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=10.0)
USER_AGENT = "FieldBridge/0.1 (+https://fieldbridge.example/docs)"


class HttpClients:
    def __init__(
        self, transport: httpx.AsyncBaseTransport | None = None, timeout: httpx.Timeout = DEFAULT_TIMEOUT
    ) -> None:
        self.transport = transport
        self.timeout = timeout

    def client(self, base_url: str = "", **kwargs: object) -> httpx.AsyncClient:
        """A new client; the caller closes it (`async with`)."""
        headers = {"User-Agent": USER_AGENT}
        return httpx.AsyncClient(
            base_url=base_url,
            transport=self.transport,
            timeout=self.timeout,
            headers=headers,
            **kwargs,  # type: ignore[arg-type]
        )
