"""Property: no outbound incident or injury payload ever carries the worker's name, email or
phone: neither the ledger row's payload nor the HTTP bodies FieldBridge sends to Procore (the
sandbox), whatever the worker is called and whatever the incident's texts say about them."""

import contextlib
import json
from typing import Any
from urllib.parse import unquote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from fieldbridge.accounts.models import Worker
from fieldbridge.delivery.states import Status
from tests.incidents.sync_helpers import Linked, confirm, deliver, ledger, link_site
from tests.procore_fixtures import ProcoreEnv


class Capture(httpx.AsyncBaseTransport):
    """Keeps the body of every request FieldBridge sends on its way to the sandbox."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.bodies: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raw = (await request.aread()).decode("utf-8", errors="replace")
        with contextlib.suppress(ValueError):  # JSON escapes non-ASCII: compare the text Procore reads
            raw = json.dumps(json.loads(raw), ensure_ascii=False)
        self.bodies.append(f"{unquote(str(request.url))} {raw}")
        return await self.inner.handle_async_request(request)


letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéñ", min_size=3, max_size=12)
names = st.builds(lambda f, last: f"{f.capitalize()} {last.capitalize()}", letters, letters)
emails = st.builds(lambda u, d: f"{u}@{d}.example", letters, letters)
phones = st.builds(lambda a, b: f"+1 {a} 555 {b}", st.integers(200, 999), st.integers(1000, 9999))
filler = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)

_state: dict[str, Any] = {}


def _texts(name: str, email: str, phone: str) -> st.SearchStrategy[dict[str, str]]:
    """Incident texts that may mention the worker by name, email or phone, in any case."""
    mention = st.sampled_from([name, name.upper(), email, phone, ""])
    text = st.builds(lambda a, m, b: f"{a} {m} {b}".strip() or "x", filler, mention, filler)
    return st.fixed_dictionaries(
        {"description": text, "body_part": text, "nature": text, "job_title": text, "location": text}
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, str, dict[str, str]]:
    name, email, phone = draw(names), draw(emails), draw(phones)
    return name, email, phone, draw(_texts(name, email, phone))


async def _setup(env: ProcoreEnv) -> tuple[Linked, Capture]:
    if _state.get("env") is not env:
        capture = Capture(env.http.transport.inner)  # type: ignore[union-attr]
        env.http.transport.inner = capture  # type: ignore[union-attr]
        _state.update(env=env, link=await link_site(env), capture=capture)
    return _state["link"], _state["capture"]


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
async def test_no_outbound_incident_or_injury_carries_the_workers_name_email_or_phone(
    procore_env: ProcoreEnv, case: tuple[str, str, str, dict[str, str]]
) -> None:
    env = procore_env
    name, email, phone, texts = case
    link, capture = await _setup(env)
    async with env.db.transaction() as session:
        await session.execute(
            update(Worker)
            .where(Worker.id == link.tenant.worker.id)
            .values(name=name, email=email, phone=phone)
        )
    capture.bodies.clear()
    before = len(await ledger(env))
    await confirm(env, link, **texts)
    await deliver(env, link)
    rows = (await ledger(env))[before:]
    assert rows, "a recordable incident is enqueued"
    assert all(r.status == Status.delivered for r in rows), [r.last_error for r in rows]
    sent = [json.dumps(r.payload, ensure_ascii=False) for r in rows] + capture.bodies
    assert any("/incidents" in b for b in capture.bodies)
    for secret in (name, email, phone):
        for text in sent:
            assert secret.lower() not in text.lower(), (secret, text[:300])
