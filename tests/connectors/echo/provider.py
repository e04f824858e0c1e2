"""Echo Notes: a tiny provider that is not Procore, served for real on loopback by the echo
connector's tests.

Its OAuth side is Acme's server (`tests/connections/acme_oauth.py`: authorization code with
PKCE S256, HTTP Basic client authentication, single-use rotating refresh tokens). Its API:

- `GET /v1/accounts`: the accounts the token reaches (the account picker), string ids.
- `POST /v1/notes` (header `Echo-Account`): creates a note, `{"id": "note_01J...",
  "updated_at": ...}`; `PATCH /v1/notes/{id}` edits one (as a person at Echo would).
- Every `/v1` answer carries Echo's own rate-limit headers (`Echo-Quota-Limit`,
  `Echo-Quota-Remaining`, `Echo-Reset-At`: Unix seconds); with the quota spent it answers 429
  with `Retry-After`.
- Webhooks: each write queues a `note.created` / `note.updated` event for every subscription,
  signed `Echo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`;
  `send_webhooks(client)` posts the queued ones to FieldBridge's receiver.
"""

import hashlib
import hmac
import json
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.connections.acme_oauth import AcmeServer

ACCOUNTS = [{"id": "acct_7Hq2", "name": "Echo North"}, {"id": "acct_9Zp4", "name": "Echo South"}]
QUOTA_WINDOW_SECONDS = 600
_CROCKFORD = string.digits + "ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str) -> str:
    return prefix + "01J" + "".join(secrets.choice(_CROCKFORD) for _ in range(23))


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Echo-Signature` header for `body`."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


@dataclass
class Subscription:
    url: str  # path or URL of FieldBridge's receiver for one connection
    secret: str
    account_id: str


@dataclass
class EchoServer(AcmeServer):
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    quota_limit: int = 100
    quota_remaining: int = 100
    reset_at: int = field(default_factory=lambda: int(time.time()) + QUOTA_WINDOW_SECONDS)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer the next note writes with
    served: list[int] = field(default_factory=list)  # statuses of note writes, in order
    subscriptions: list[Subscription] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    _clock: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def app(self) -> Starlette:
        oauth = super().app()
        return Starlette(
            routes=[
                *oauth.routes,
                Route("/v1/accounts", self.list_accounts),
                Route("/v1/notes", self.create_note, methods=["POST"]),
                Route("/v1/notes/{note_id}", self.edit_note, methods=["PATCH"]),
            ]
        )

    # Rate limits: one quota per window, reported on every answer.

    def _quota_headers(self) -> dict[str, str]:
        return {
            "Echo-Quota-Limit": str(self.quota_limit),
            "Echo-Quota-Remaining": str(max(self.quota_remaining, 0)),
            "Echo-Reset-At": str(self.reset_at),
        }

    def _answer(self, body: Any, status: int = 200, **extra: str) -> JSONResponse:
        return JSONResponse(body, status_code=status, headers={**self._quota_headers(), **extra})

    def _gate(self, request: Request) -> JSONResponse | None:
        """401 for a token this server did not issue; 429 once the quota is spent."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.access_tokens:
            return self._answer({"error": "invalid_token"}, 401)
        if self.quota_remaining <= 0:
            wait = max(1, self.reset_at - int(time.time()))
            return self._answer({"error": "quota_exhausted"}, 429, **{"Retry-After": str(wait)})
        self.quota_remaining -= 1
        return None

    def _stamp(self) -> str:
        """A strictly increasing `updated_at` (ISO 8601, microseconds)."""
        self._clock = max(self._clock + timedelta(microseconds=1), datetime.now(UTC))
        return self._clock.isoformat().replace("+00:00", "Z")

    async def list_accounts(self, request: Request) -> Response:
        refused = self._gate(request)
        return refused or self._answer(ACCOUNTS)

    async def create_note(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is None and self.fail_next:
            status = self.fail_next.pop(0)
            extra = {"Retry-After": "30"} if status == 429 else {}
            refused = self._answer({"error": f"failed with {status}"}, status, **extra)
        if refused is not None:
            self.served.append(refused.status_code)
            return refused
        account = request.headers.get("echo-account", "")
        body = await request.json()
        if account not in {a["id"] for a in ACCOUNTS}:
            self.served.append(404)
            return self._answer({"error": "unknown_account"}, 404)
        if not isinstance(body, dict) or not str(body.get("title") or "").strip():
            self.served.append(422)
            return self._answer({"error": "invalid_note", "message": "title is required"}, 422)
        note_id = new_id("note_")
        note: dict[str, Any] = {
            "id": note_id,
            "account_id": account,
            "title": str(body["title"]),
            "body": str(body.get("body") or ""),
            "external_ref": body.get("external_ref"),
            "updated_at": self._stamp(),
        }
        self.notes[note_id] = note
        self._queue("note.created", note)
        self.served.append(201)
        return self._answer(note, 201)

    async def edit_note(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        note = self.notes.get(request.path_params["note_id"])
        if note is None:
            return self._answer({"error": "not_found"}, 404)
        note.update({k: str(v) for k, v in (await request.json()).items() if k in ("title", "body")})
        note["updated_at"] = self._stamp()
        self._queue("note.updated", note)
        return self._answer(note)

    # Webhooks.

    def subscribe(self, url: str, account_id: str) -> str:
        """Subscribe FieldBridge's receiver to an account's note events; returns the signing
        secret (what Echo's developer console shows once)."""
        secret = "whsec_" + secrets.token_urlsafe(24)
        self.subscriptions.append(Subscription(url, secret, account_id))
        return secret

    def _queue(self, event_type: str, note: dict[str, Any]) -> None:
        self.outbox.append(
            {
                "id": new_id("evt_"),
                "resource": "notes",
                "type": event_type,
                "record_id": note["id"],
                "account_id": note["account_id"],
                "updated_at": note["updated_at"],
                "data": dict(note),
            }
        )

    async def send_webhooks(
        self, client: httpx.AsyncClient, *, redeliver: bool = False
    ) -> list[httpx.Response]:
        """Post every queued event to the subscriptions of its account (and keep them queued
        when `redeliver`, as a provider retrying after a lost answer would)."""
        events = list(self.outbox)
        if not redeliver:
            self.outbox.clear()
        answers = []
        for event in events:
            body = json.dumps(event).encode()
            for sub in self.subscriptions:
                if sub.account_id == event["account_id"]:
                    headers = {"Echo-Signature": sign(body, sub.secret), "Content-Type": "application/json"}
                    answers.append(await client.post(sub.url, content=body, headers=headers))
        return answers
