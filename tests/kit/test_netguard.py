"""The outbound address guard: which addresses are refused, and that the check happens where the
connection is made (a real server on loopback, real sockets)."""

import ipaddress
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.netguard import EgressRefused, GuardedTransport, check_url, refusal
from tests.browser import serve_in_thread

PUBLIC = "93.184.215.14"  # an address in public space (nothing is sent to it in these tests)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("127.8.9.10", "loopback address"),
        ("::1", "loopback address"),
        ("10.1.2.3", "private address"),
        ("172.16.0.1", "private address"),
        ("192.168.1.1", "private address"),
        ("fc00::1", "private address"),
        ("169.254.169.254", "link-local address"),
        ("fe80::1", "link-local address"),
        ("224.0.0.1", "multicast address"),
        ("ff02::1", "multicast address"),
        ("0.0.0.0", "unspecified address"),
        ("::", "unspecified address"),
        ("100.64.0.1", "non-public address"),
        ("::ffff:127.0.0.1", "loopback address"),
        ("::ffff:169.254.169.254", "link-local address"),
        ("::ffff:10.0.0.1", "private address"),
        ("2002:7f00:1::", "loopback address"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local address"),  # NAT64 of 169.254.169.254
    ],
)
def test_non_public_addresses_are_refused_with_their_class(address: str, reason: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_loopback_alone_can_be_allowed() -> None:
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert refusal(ipaddress.ip_address(address), allow_loopback=True) is None
    for address in ("10.0.0.1", "169.254.169.254", "0.0.0.0", "::ffff:192.168.0.1"):
        assert refusal(ipaddress.ip_address(address), allow_loopback=True) is not None


async def _echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"hello {request.url.path}")


@pytest.fixture(scope="module")
def local_server() -> Iterator[str]:
    with serve_in_thread(Starlette(routes=[Route("/{path:path}", _echo)])) as base:
        yield base


async def test_a_loopback_server_is_refused_at_connect_time(local_server: str) -> None:
    strict = HttpClients()
    for url in (local_server, local_server.replace("127.0.0.1", "localhost")):
        async with strict.client(base_url=url) as client:
            with pytest.raises(EgressRefused, match="loopback address") as info:
                await client.get("/secret")
            assert info.value.reason == "loopback address"
    async with HttpClients(allow_emulators=True).client(base_url=local_server) as client:
        with pytest.raises(EgressRefused):  # not an emulator client: loopback stays refused
            await client.get("/")


async def test_an_allowed_emulator_reaches_loopback_and_a_turned_off_one_nothing(local_server: str) -> None:
    async with HttpClients(allow_emulators=True).client(base_url=local_server, emulator=True) as client:
        assert (await client.get("/ok")).text == "hello /ok"
    async with HttpClients(allow_emulators=False).client(base_url=local_server, emulator=True) as client:
        with pytest.raises(EgressRefused, match="turned off"):
            await client.get("/ok")


async def test_the_checked_address_is_the_one_connected_to(local_server: str) -> None:
    """DNS rebinding: the name is resolved once, at connect time, checked, and the socket goes to
    that address (a name that answered public for an early check and loopback now is refused)."""
    port = int(local_server.rsplit(":", 1)[1])
    answers = iter([[PUBLIC], ["127.0.0.1"]])

    async def rebinding(host: str, _port: int) -> list[str]:
        return next(answers)

    await check_url(f"http://rebind.test:{port}/", resolver=rebinding)  # the early check passes
    transport = GuardedTransport(resolver=rebinding)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://rebind.test:{port}") as client:
        with pytest.raises(EgressRefused, match=r"rebind\.test is a loopback address"):
            await client.get("/")

    async def pinned(host: str, _port: int) -> list[str]:
        return ["127.0.0.1"]

    # The name itself never resolves; the request still arrives, at the address that was checked.
    transport = GuardedTransport(allow_loopback=True, resolver=pinned)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://nowhere.invalid:{port}") as client:
        assert (await client.get("/pinned")).text == "hello /pinned"


async def test_names_with_one_private_address_among_public_ones_are_refused() -> None:
    async def mixed(host: str, _port: int) -> list[str]:
        return [PUBLIC, "10.0.0.7"]

    with pytest.raises(EgressRefused, match="private address"):
        await check_url("https://mixed.test/", resolver=mixed)


async def test_an_unknown_name_is_a_connect_error_not_a_refusal() -> None:
    with pytest.raises(httpx.ConnectError) as info:
        await check_url("http://no-such-host.invalid/")
    assert not isinstance(info.value, EgressRefused)
