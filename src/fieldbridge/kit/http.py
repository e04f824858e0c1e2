"""Outbound HTTP: one factory for every httpx client FieldBridge makes.

Tests and the in-process demo hand it a transport (e.g. `httpx.ASGITransport(sandbox_app)`),
so connectors talk to the offline sandbox without patching anything. Every client has a
timeout, and a handed-in transport is wrapped so the timeout holds there too: httpx's
`ASGITransport` ignores timeouts, so a hung in-process app would otherwise hang its caller.
"""

import asyncio

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=10.0)
USER_AGENT = "FieldBridge/0.1 (+https://fieldbridge.example/docs)"


def read_timeout(seconds: float) -> httpx.Timeout:
    """The default timeouts with another read timeout (how long a silent server is waited for)."""
    return httpx.Timeout(
        connect=DEFAULT_TIMEOUT.connect, read=seconds, write=DEFAULT_TIMEOUT.write, pool=DEFAULT_TIMEOUT.pool
    )


class DeadlineTransport(httpx.AsyncBaseTransport):
    """Applies each request's read timeout to a transport that does not: no complete response
    within it raises `httpx.ReadTimeout`, as a silent server does over a socket."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        seconds = (request.extensions.get("timeout") or {}).get("read")
        if seconds is None:
            return await self.inner.handle_async_request(request)
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                return await self.inner.handle_async_request(request)
        except TimeoutError as exc:
            if not deadline.expired():
                raise
            raise httpx.ReadTimeout(f"no response within {seconds:g} s", request=request) from exc

    async def aclose(self) -> None:
        await self.inner.aclose()


class HttpClients:
    def __init__(
        self, transport: httpx.AsyncBaseTransport | None = None, timeout: httpx.Timeout = DEFAULT_TIMEOUT
    ) -> None:
        self.transport = None if transport is None else DeadlineTransport(transport)
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
