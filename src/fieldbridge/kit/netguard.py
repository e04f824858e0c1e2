"""Outbound address guard: FieldBridge calls public addresses only (no SSRF into the network it
runs in).

A URL a user typed (an offline-sandbox URL today, webhook URLs tomorrow) must not make the
server post credentials to `http://127.0.0.1:5432`, `169.254.169.254` or a neighbour on the
private network, nor turn its error messages into a port scanner. The check runs where the
connection is made: `GuardedBackend` resolves the host itself, refuses the whole name if any
of its addresses is not public, and connects to the address it checked, so DNS rebinding (a
name that resolves to a public address for an early check and to a private one a moment
later) has nothing to slip through. `GuardedTransport` is httpx's transport over that backend.

Refused: private, loopback, link-local, multicast, reserved and unspecified addresses and
anything else that is not globally routable, IPv4 and IPv6 alike, including IPv4 addresses
carried inside IPv6 (IPv4-mapped, 6to4, Teredo, NAT64). Loopback alone can be allowed
(`allow_loopback`) for a local emulator the operator turned on (the offline Procore sandbox).
`allow_private` (a self-hosted deployment whose webhook receivers live on its own network)
also allows private and loopback addresses; link-local (cloud metadata at 169.254.169.254),
multicast, reserved and unspecified addresses stay refused even then.

`EgressRefused` subclasses `httpx.ConnectError`, so callers that treat "could not connect" as
retriable keep working; callers that show errors to a person say "refused: private address"
from `.reason` and never the remote side's text.
"""

import functools
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> addresses (tests and a future DNS cache swap in their own).
Resolver = Callable[[str, int], Awaitable[list[str]]]
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressRefused(httpx.ConnectError):
    """A destination FieldBridge does not call. `.reason` is the class ("private address");
    `.host` the name as given. Neither carries anything the remote side said."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"refused: {host} is a {reason}")
        self.host = host
        self.reason = reason


def _carried_ipv4(ip: IPAddress) -> list[IPAddress]:
    """IPv4 addresses an IPv6 address leads to (which must pass the check too)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    carried: list[IPAddress] = []
    if ip.ipv4_mapped is not None:
        carried.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        carried.append(ip.sixtofour)
    if ip.teredo is not None:
        carried.extend(ip.teredo)
    if ip in NAT64:
        carried.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return carried


def refusal(ip: IPAddress, *, allow_loopback: bool = False, allow_private: bool = False) -> str | None:
    """Why `ip` is not called ("private address", ...), or None when it may be."""
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return None if allow_loopback or allow_private else "loopback address"
    mapped = isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None
    for carried in _carried_ipv4(ip):
        reason = refusal(carried, allow_loopback=allow_loopback, allow_private=allow_private)
        if reason is not None or mapped:  # an IPv4-mapped address is its IPv4 address
            return reason
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if ip.is_private:
        return None if allow_private else "private address"
    if ip.is_reserved:
        return "reserved address"
    if not ip.is_global:
        return "non-public address"
    return None


def _parse(address: str) -> IPAddress:
    return ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for `host` (OSError when there are none)."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_checked(
    host: str,
    port: int,
    *,
    allow_loopback: bool = False,
    resolver: Resolver = system_resolver,
    allow_private: bool = False,
) -> list[str]:
    """The addresses of `host` to connect to, every one of them checked; `EgressRefused` if any
    is not allowed, `httpcore.ConnectError` if the name does not resolve."""
    try:
        addresses = await resolver(host, port)
    except OSError as exc:  # socket.gaierror: no such name, or no DNS
        raise httpcore.ConnectError(f"could not resolve {host}") from exc
    for address in addresses:
        reason = refusal(_parse(address), allow_loopback=allow_loopback, allow_private=allow_private)
        if reason is not None:
            raise EgressRefused(host, reason)
    if not addresses:
        raise httpcore.ConnectError(f"could not resolve {host}")
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving and checking every host before it connects."""

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
        allow_private: bool = False,
    ) -> None:
        self.allow_loopback = allow_loopback
        self.allow_private = allow_private
        self.resolver = resolver
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout) if timeout else nullcontext():
                addresses = await resolve_checked(
                    host,
                    port,
                    allow_loopback=self.allow_loopback,
                    resolver=self.resolver,
                    allow_private=self.allow_private,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"could not resolve {host} in time") from exc
        last: Exception | None = None
        for address in addresses:  # the checked address, never the name again (no rebinding)
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefused(path, "unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one loads the CA bundle (tens of ms), and
    a client is made per call."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, connecting only through `GuardedBackend` (no proxies from the
    environment: a proxy would connect on our behalf, unchecked)."""

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
        allow_private: bool = False,
    ) -> None:
        ssl_context = ssl_context or default_ssl_context()
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(
                allow_loopback=allow_loopback, resolver=resolver, allow_private=allow_private
            ),
        )


class RefusingTransport(httpx.AsyncBaseTransport):
    """Refuses every request (a destination kind this process has turned off)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise EgressRefused(request.url.host, self.reason)


async def check_url(
    url: str,
    *,
    allow_loopback: bool = False,
    resolver: Resolver = system_resolver,
    allow_private: bool = False,
) -> None:
    """Resolve and check a URL's host now, for an early, friendly answer to the person who typed
    it (`EgressRefused`, or `httpx.ConnectError` when it does not resolve). The check that
    counts is the one at connect time."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise httpx.ConnectError(f"{url} has no host")
    try:
        await resolve_checked(
            parts.hostname,
            parts.port or (443 if parts.scheme == "https" else 80),
            allow_loopback=allow_loopback,
            resolver=resolver,
            allow_private=allow_private,
        )
    except httpcore.ConnectError as exc:
        raise httpx.ConnectError(str(exc)) from exc
