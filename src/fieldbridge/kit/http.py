"""Outbound HTTP: one factory for every httpx client FieldBridge makes.

Tests and the in-process demo hand it a transport (e.g. `httpx.ASGITransport(sandbox_app)`),
so connectors talk to the offline sandbox without patching anything; nothing leaves the
process then. Every client has a timeout, and a handed-in transport is wrapped so the timeout
holds there too: httpx's `ASGITransport` ignores timeouts, so a hung in-process app would
otherwise hang its caller. Otherwise every client connects through `kit.netguard`: public
addresses only. A client for a local emulator (`emulator=True`: the offline Procore sandbox)
may also reach loopback, and only when this process allows emulators (`allow_emulators`, from
FIELDBRIDGE_ALLOW_OFFLINE_SANDBOX); when it does not, such a client refuses every request.
"""

import asyncio

import httpx

from fieldbridge.kit.netguard import GuardedTransport, RefusingTransport, check_url

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=10.0)
USER_AGENT = "FieldBridge/0.1 (+https://fieldbridge.example/docs)"
EMULATORS_OFF = "local emulator, and this server has them turned off"


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
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        *,
        allow_emulators: bool = False,
    ) -> None:
        self.transport = None if transport is None else DeadlineTransport(transport)
        self.timeout = timeout
        self.allow_emulators = allow_emulators

    def transport_for(self, *, emulator: bool = False) -> httpx.AsyncBaseTransport:
        """The injected transport, or a new guarded one (its client closes it)."""
        if self.transport is not None:
            return self.transport
        if emulator and not self.allow_emulators:
            return RefusingTransport(EMULATORS_OFF)
        return GuardedTransport(allow_loopback=emulator)

    async def check_destination(self, url: str, *, emulator: bool = False) -> None:
        """Refuse a URL now that connecting to it later would refuse (`EgressRefused`); for an
        early answer to whoever typed it. No-op with an injected transport."""
        if self.transport is not None:
            return
        if emulator and not self.allow_emulators:
            await RefusingTransport(EMULATORS_OFF).handle_async_request(httpx.Request("GET", url))
        await check_url(url, allow_loopback=emulator)

    def client(self, base_url: str = "", *, emulator: bool = False, **kwargs: object) -> httpx.AsyncClient:
        """A new client; the caller closes it (`async with`)."""
        headers = {"User-Agent": USER_AGENT}
        return httpx.AsyncClient(
            base_url=base_url,
            transport=self.transport_for(emulator=emulator),
            timeout=self.timeout,
            headers=headers,
            **kwargs,  # type: ignore[arg-type]
        )
