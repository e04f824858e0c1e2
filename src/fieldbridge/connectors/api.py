"""GET /api/v1/connectors: the platforms FieldBridge connects to, read from the registry
delivery was given (what ships, with its true capabilities and ledger kinds, then what is
still to come)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from fieldbridge.accounts.auth import Principal, require
from fieldbridge.accounts.scopes import Scope
from fieldbridge.connections.connector import ConnectFlow, Registry
from fieldbridge.delivery.runner import registry

router = APIRouter(tags=["connectors"])
ConnectionsRead = Annotated[Principal, Depends(require(Scope.connections_read), scope="function")]


class EnvironmentOut(BaseModel):
    value: str
    label: str
    emulator: bool  # takes `offline_url`; only where the server allows the offline sandbox


class ConnectOut(BaseModel):
    """What `POST /api/v1/connections` accepts for this provider."""

    environments: list[EnvironmentOut]
    modes: list[str]
    account: str  # what an account is called there ("Procore company")


class ConnectorOut(BaseModel):
    provider: str
    name: str
    summary: str
    status: Literal["available", "coming"]
    capabilities: list[str]
    delivery_kinds: list[str]
    connect_url: str | None
    connect: ConnectOut | None = None


def _connect(flow: ConnectFlow | None) -> ConnectOut | None:
    if flow is None:
        return None
    return ConnectOut(
        environments=[
            EnvironmentOut(value=e.value, label=e.label, emulator=e.emulator) for e in flow.environments
        ],
        modes=sorted(m.value for m in flow.modes),
        account=flow.account_noun,
    )


def catalogue(reg: Registry) -> list[ConnectorOut]:
    """Shipped connectors first (capabilities and kinds sorted), then the planned ones."""
    shipped = [
        ConnectorOut(
            provider=spec.provider,
            name=spec.display_name or spec.provider,
            summary=spec.summary,
            status="available",
            capabilities=sorted(spec.capabilities),
            delivery_kinds=sorted(h.kind for h in spec.handlers),
            connect_url=spec.connect_url,
            connect=_connect(spec.connect),
        )
        for spec in reg.specs.values()
    ]
    coming = [
        ConnectorOut(
            provider=p.provider,
            name=p.display_name,
            summary=p.summary,
            status="coming",
            capabilities=[],
            delivery_kinds=[],
            connect_url=None,
        )
        for p in reg.planned
        if p.provider not in reg.specs
    ]
    return shipped + coming


@router.get("/connectors", response_model=list[ConnectorOut], summary="Connectors")
async def list_connectors(principal: ConnectionsRead) -> list[ConnectorOut]:
    return catalogue(registry())
