"""REST routes of the accounts domain under /api/v1."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, status

from fieldbridge.accounts import importing, service, throttle
from fieldbridge.accounts.auth import ApiPrincipal, Principal, require
from fieldbridge.accounts.models import Company, Worker
from fieldbridge.accounts.repository import (
    ApiKeyRepository,
    UserRepository,
    WorkerRepository,
)
from fieldbridge.accounts.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    CompanyOut,
    CompanyPatch,
    CsvImportResult,
    DeviceSession,
    Me,
    SignInBlockOut,
    SignInReset,
    UserIn,
    UserOut,
    WorkerIn,
    WorkerOut,
    WorkerPatch,
    WorkerSignIn,
)
from fieldbridge.accounts.scopes import Scope
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.deps import KeptSessionDep, SessionDep, SettingsDep, client_address
from fieldbridge.kit.pagination import Page, PageParams, page_params

router = APIRouter(tags=["accounts"])
public_router = APIRouter(tags=["accounts"])


WorkersRead = Annotated[Principal, Depends(require(Scope.workers_read), scope="function")]
WorkersWrite = Annotated[Principal, Depends(require(Scope.workers_write), scope="function")]
KeysWrite = Annotated[Principal, Depends(require(Scope.api_keys_write), scope="function")]
UsersWrite = Annotated[Principal, Depends(require(Scope.users_write), scope="function")]


def worker_out(worker: Worker) -> WorkerOut:
    data = {k: getattr(worker, k) for k in WorkerOut.model_fields if k != "has_pin"}
    return WorkerOut(**data, has_pin=worker.pin_digest is not None)


@router.get("/me", response_model=Me, summary="Who am I")
async def me(principal: ApiPrincipal) -> Me:
    return Me(
        company_id=principal.company_id,
        company_name=principal.company_name,
        kind=principal.kind,
        name=principal.name,
        role=principal.role.value if principal.role else None,
        scopes=sorted(principal.scopes),
    )


def company_out(company: Company) -> CompanyOut:
    return CompanyOut(id=company.id, name=company.name, code=company.code, time_zone=company.timezone)


@router.get("/company", response_model=CompanyOut, summary="My company and its time zone")
async def get_company(principal: ApiPrincipal, session: SessionDep) -> CompanyOut:
    return company_out(await service.get_company(session, principal.company_id))


@router.patch("/company", response_model=CompanyOut, summary="Set the company's time zone")
async def update_company(body: CompanyPatch, principal: UsersWrite, session: SessionDep) -> CompanyOut:
    return company_out(await service.update_company(session, principal.company_id, body))


@public_router.post(
    "/auth/worker-sign-in",
    response_model=DeviceSession,
    summary="Sign a phone in",
    responses={
        401: {"description": "wrong company code or PIN"},
        429: {"description": "too many failures; wait Retry-After seconds"},
    },
)
async def worker_sign_in(
    body: WorkerSignIn, request: Request, session: KeptSessionDep, settings: SettingsDep
) -> DeviceSession:
    # A refused sign-in raises, and its count still commits (KeptSessionDep): one connection.
    source = f"device:{body.device_id}" if body.device_id else f"ip:{client_address(request)}"
    worker, company, token = await service.sign_in_worker(
        session, settings, body.company_code, body.pin, source
    )
    expires_at = utcnow() + timedelta(days=settings.device_token_days)
    return DeviceSession(
        token=token, expires_at=expires_at, worker=worker_out(worker), company_name=company.name
    )


@router.get("/sign-in-blocks", response_model=list[SignInBlockOut], summary="Who waits to sign in")
async def sign_in_blocks(principal: UsersWrite, session: SessionDep) -> list[SignInBlockOut]:
    company = await service.get_company(session, principal.company_id)
    return await throttle.blocks_of_company(session, company.id, company.code, utcnow())


@router.post("/sign-in-blocks/reset", response_model=SignInReset, summary="Clear sign-in blocks")
async def reset_sign_in_blocks(principal: UsersWrite, session: SessionDep) -> SignInReset:
    """Forget the failed sign-ins of this company's phones and admins: everyone may try again."""
    company = await service.get_company(session, principal.company_id)
    return SignInReset(cleared=await throttle.reset_company(session, company.id, company.code))


@router.get("/workers", response_model=Page[WorkerOut], summary="List workers")
async def list_workers(
    principal: WorkersRead,
    session: SessionDep,
    paging: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100, description="name, employee id or email")] = None,
    active: bool | None = None,
) -> Page[WorkerOut]:
    rows, total = await WorkerRepository.from_session(session).list(
        principal.company_id, q=q, active=active, offset=paging.offset, limit=paging.per_page
    )
    return Page(items=[worker_out(w) for w in rows], total=total, page=paging.page, per_page=paging.per_page)


@router.post("/workers", response_model=WorkerOut, status_code=status.HTTP_201_CREATED)
async def create_worker(
    body: WorkerIn, principal: WorkersWrite, session: SessionDep, settings: SettingsDep
) -> WorkerOut:
    return worker_out(await service.create_worker(session, settings, principal.company_id, body))


@router.get("/workers/{worker_id}", response_model=WorkerOut)
async def get_worker(worker_id: int, principal: WorkersRead, session: SessionDep) -> WorkerOut:
    return worker_out(await service.get_worker(session, principal.company_id, worker_id))


@router.patch("/workers/{worker_id}", response_model=WorkerOut)
async def update_worker(
    worker_id: int,
    body: WorkerPatch,
    principal: WorkersWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> WorkerOut:
    return worker_out(await service.update_worker(session, settings, principal.company_id, worker_id, body))


@router.post("/workers/import", response_model=CsvImportResult, summary="Import workers from CSV")
async def import_workers(
    principal: WorkersWrite,
    session: SessionDep,
    settings: SettingsDep,
    csv_file: Annotated[bytes, Body(media_type="text/csv", description=importing.FORMAT)],
) -> CsvImportResult:
    return await importing.import_workers_csv(session, settings, principal.company_id, csv_file)


@router.get("/api-keys", response_model=list[ApiKeyOut])
async def list_api_keys(principal: KeysWrite, session: SessionDep) -> list[ApiKeyOut]:
    keys = await ApiKeyRepository.from_session(session).list(principal.company_id)
    return [ApiKeyOut.model_validate(k) for k in keys]


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
async def create_api_key(body: ApiKeyIn, principal: KeysWrite, session: SessionDep) -> ApiKeyCreated:
    key, token = await service.create_api_key(session, principal.company_id, body)
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=token)


@router.post("/api-keys/{api_key_id}/revoke", response_model=ApiKeyOut)
async def revoke_api_key(api_key_id: int, principal: KeysWrite, session: SessionDep) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await service.revoke_api_key(session, principal.company_id, api_key_id))


@router.get("/users", response_model=list[UserOut])
async def list_users(principal: UsersWrite, session: SessionDep) -> list[UserOut]:
    return [
        UserOut.model_validate(u)
        for u in await UserRepository.from_session(session).list(principal.company_id)
    ]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserIn, principal: UsersWrite, session: SessionDep) -> UserOut:
    return UserOut.model_validate(await service.create_user(session, principal.company_id, body))


@router.post("/users/{user_id}/deactivate", response_model=UserOut)
async def deactivate_user(user_id: int, principal: UsersWrite, session: SessionDep) -> UserOut:
    return UserOut.model_validate(
        await service.set_user_active(session, principal.company_id, user_id, False)
    )
