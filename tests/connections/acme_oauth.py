"""A small OAuth 2.0 authorization server that is not Procore ("Acme Cloud"), served for real
on loopback by the provider-neutral tests, and the connector that connects to it through the
shared lifecycle.

It differs from Procore's on purpose: the client authenticates with HTTP Basic
(`client_secret_basic`), scopes are required, PKCE S256 is enforced, account ids are not
Procore company ids, and every refresh token is single-use (a reused one is `invalid_grant`).
`hold_next_refresh` makes it sit on refresh answers, before or after rotating, so a client with
a short read timeout loses the answer the way a dropped connection would.
"""

import asyncio
import base64
import hashlib
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from fieldbridge.connections import oauth
from fieldbridge.connections.connector import (
    Account,
    ConnectFlow,
    ConnectorSpec,
    EnvironmentOption,
    Outbound,
)
from fieldbridge.connections.credentials import AuthMode
from fieldbridge.connections.models import Connection
from fieldbridge.kit.http import HttpClients

CLIENT_ID = "acme-app"
CLIENT_SECRET = "acme-secret-value"
SCOPES = ("read", "write")
ACCOUNTS = [{"id": "4242", "name": "Acme West"}, {"id": "4343", "name": "Acme East"}]


@dataclass
class AcmeServer:
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)
    access_tokens: set[str] = field(default_factory=set)
    revoked: list[str] = field(default_factory=list)
    grants: Counter[str] = field(default_factory=Counter)
    # Refresh answers to sit on ("before": then rotate; "after": rotate first), one per entry.
    hold_next_refresh: list[str] = field(default_factory=list)
    deny: bool = False

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/revoke", self.revoke, methods=["POST"]),
                Route("/api/accounts", self.accounts),
            ]
        )

    def revoke_all(self) -> None:
        self.refresh_tokens.clear()
        self.access_tokens.clear()

    def _issue(self, refresh: bool = True) -> dict[str, Any]:
        access = "acme_at_" + secrets.token_urlsafe(12)
        self.access_tokens.add(access)
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
        if refresh:
            body["refresh_token"] = "acme_rt_" + secrets.token_urlsafe(12)
            self.refresh_tokens.add(body["refresh_token"])
        return body

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "error_description": "PKCE required"}, 400)
        if set((q.get("scope") or "").split()) != set(SCOPES):
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        answer = {"state": q.get("state", "")}
        if self.deny:
            answer["error"] = "access_denied"
        else:
            code = "acme_code_" + secrets.token_urlsafe(8)
            self.codes[code] = {"redirect_uri": q["redirect_uri"], "challenge": q["code_challenge"]}
            answer["code"] = code
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode(answer)}", status_code=302)

    def _client_ok(self, request: Request, form: Mapping[str, Any]) -> bool:
        """HTTP Basic only: a secret in the body is not how this server's clients authenticate."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic ") or "client_secret" in form:
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == CLIENT_ID and password == CLIENT_SECRET

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if not self._client_ok(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = str(form.get("grant_type"))
        self.grants[grant] += 1
        if grant == "client_credentials":
            return JSONResponse(self._issue(refresh=False))
        if grant == "authorization_code":
            issued = self.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier") or "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if issued is None or issued["redirect_uri"] != form.get("redirect_uri"):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if issued["challenge"] != challenge:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
            return JSONResponse(self._issue())
        if grant == "refresh_token":
            hold = self.hold_next_refresh.pop(0) if self.hold_next_refresh else None
            if hold == "before":
                await asyncio.sleep(3)  # the caller's answer is lost before this server saw it
            token = str(form.get("refresh_token"))
            if token not in self.refresh_tokens:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            self.refresh_tokens.discard(token)  # single use
            body = self._issue()
            if hold == "after":
                await asyncio.sleep(3)  # rotated, but the answer never reaches the caller
            return JSONResponse(body)
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    async def revoke(self, request: Request) -> Response:
        form = await request.form()
        if not self._client_ok(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = str(form.get("token"))
        self.revoked.append(token)
        self.refresh_tokens.discard(token)
        self.access_tokens.discard(token)
        return Response(status_code=200)

    async def accounts(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.access_tokens:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse(ACCOUNTS)


# The connector: Acme's endpoints and account picker as data, plugged into the shared lifecycle.


def endpoints(config: Mapping[str, Any]) -> oauth.OAuthProvider:
    base = str(config["offline_url"]).rstrip("/")
    return oauth.OAuthProvider(
        name="Acme Cloud",
        authorize_url=f"{base}/authorize",
        token_url=f"{base}/token",
        revoke_url=f"{base}/revoke",
        scopes=SCOPES,
        client_auth_method="client_secret_basic",
        emulator=True,
        refresh_margin_seconds=60,
    )


async def list_accounts(
    http: HttpClients, config: Mapping[str, Any], access_token: str, hint: str | None
) -> list[Account]:
    base = str(config["offline_url"]).rstrip("/")
    try:
        async with http.client(base_url=base, emulator=True) as client:
            response = await client.get("/api/accounts", headers={"Authorization": f"Bearer {access_token}"})
    except httpx.TransportError as exc:
        raise oauth.Unavailable("Acme Cloud cannot be reached.") from exc
    if response.status_code != 200:
        raise oauth.ProviderError("Acme Cloud refused the account list.", status=response.status_code)
    return [Account(id=str(a["id"]), name=str(a["name"])) for a in response.json()]


@asynccontextmanager
async def open_client(out: Outbound, connection: Connection) -> AsyncIterator[httpx.AsyncClient]:
    async with out.http.client(base_url=str(connection.config["offline_url"]), emulator=True) as client:
        yield client


def spec() -> ConnectorSpec:
    return ConnectorSpec(
        provider="acme",
        display_name="Acme Cloud",
        summary="A test platform with its own OAuth server.",
        connect_url="/settings/integrations/acme",
        capabilities=frozenset(),
        open_client=open_client,
        connect=ConnectFlow(
            oauth=endpoints,
            list_accounts=list_accounts,
            environments=(EnvironmentOption("local", "Acme on this machine", emulator=True),),
            modes=frozenset({AuthMode.authorization_code, AuthMode.client_credentials}),
            account_noun="Acme account",
        ),
    )
