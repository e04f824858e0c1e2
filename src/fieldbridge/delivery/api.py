"""The export log through /api/v1: list, counts, CSV, detail, and support's actions."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from fieldbridge.accounts.auth import Principal, require
from fieldbridge.accounts.scopes import Scope
from fieldbridge.delivery import service
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.repository import DeliveryRepository
from fieldbridge.delivery.schemas import (
    CSV_COLUMNS,
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    LogQuery,
    RetriedOut,
    RetryRejectedIn,
    StatusCounts,
)
from fieldbridge.kit.csvsafe import CsvWriter
from fieldbridge.kit.deps import SessionDep
from fieldbridge.kit.pagination import Page, PageParams, page_params

router = APIRouter(tags=["deliveries"])
DeliveriesRead = Annotated[Principal, Depends(require(Scope.deliveries_read), scope="function")]
DeliveriesWrite = Annotated[Principal, Depends(require(Scope.deliveries_write), scope="function")]
Filters = Annotated[LogQuery, Query()]


async def detail_of(session: SessionDep, company_id: int, row: Delivery) -> DeliveryDetail:
    attempts = await DeliveryRepository.from_session(session).attempts(company_id, row.id)
    return DeliveryDetail(
        **DeliveryOut.model_validate(row).model_dump(),
        payload=row.payload,
        remote_record=row.remote_record,
        attempt_log=[AttemptOut.model_validate(a) for a in attempts],
    )


@router.get("/deliveries", response_model=Page[DeliveryOut], summary="Export log")
async def list_deliveries(
    principal: DeliveriesRead,
    session: SessionDep,
    filters: Filters,
    paging: Annotated[PageParams, Depends(page_params)],
) -> Page[DeliveryOut]:
    rows, total = await DeliveryRepository.from_session(session).list(
        principal.company_id, filters.to_filter(), offset=paging.offset, limit=paging.per_page
    )
    items = [DeliveryOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, page=paging.page, per_page=paging.per_page)


@router.get("/deliveries/counts", response_model=StatusCounts, summary="Export log counts by status")
async def delivery_counts(principal: DeliveriesRead, session: SessionDep, filters: Filters) -> StatusCounts:
    counts = await DeliveryRepository.from_session(session).counts_by_status(
        principal.company_id, filters.to_filter()
    )
    return StatusCounts(counts=counts, total=sum(counts.values()))


@router.get("/deliveries.csv", summary="Export log as CSV", response_class=StreamingResponse)
async def deliveries_csv(
    principal: DeliveriesRead, session: SessionDep, filters: Filters
) -> StreamingResponse:
    rows = await DeliveryRepository.from_session(session).iterate(principal.company_id, filters.to_filter())

    async def lines() -> AsyncIterator[str]:
        table = ([getattr(row, c) for c in CSV_COLUMNS] for row in rows)
        for chunk in CsvWriter().chunks(CSV_COLUMNS, table):
            yield chunk

    headers = {"Content-Disposition": 'attachment; filename="fieldbridge-export-log.csv"'}
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get(
    "/deliveries/{delivery_id}", response_model=DeliveryDetail, summary="One delivery with its attempts"
)
async def get_delivery(delivery_id: int, principal: DeliveriesRead, session: SessionDep) -> DeliveryDetail:
    row = await service.get(session, principal.company_id, delivery_id)
    return await detail_of(session, principal.company_id, row)


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut, summary="Send again now")
async def retry_delivery(delivery_id: int, principal: DeliveriesWrite, session: SessionDep) -> DeliveryOut:
    return DeliveryOut.model_validate(await service.retry(session, principal.company_id, delivery_id))


@router.post(
    "/deliveries/{delivery_id}/retry-chain",
    response_model=list[DeliveryOut],
    summary="Send again with every refused row of its subject",
)
async def retry_chain(delivery_id: int, principal: DeliveriesWrite, session: SessionDep) -> list[DeliveryOut]:
    rows = await service.retry_chain(session, principal.company_id, delivery_id)
    return [DeliveryOut.model_validate(r) for r in rows]


@router.post(
    "/deliveries/retry-rejected", response_model=RetriedOut, summary="Send all rows rejected for a reason"
)
async def retry_rejected(
    body: RetryRejectedIn, principal: DeliveriesWrite, session: SessionDep
) -> RetriedOut:
    retried = await service.retry_rejected(session, principal.company_id, body.reason, body.connection_id)
    return RetriedOut(retried=retried)


@router.post(
    "/deliveries/{delivery_id}/replay", response_model=DeliveryOut, summary="Send a delivered row again"
)
async def replay_delivery(delivery_id: int, principal: DeliveriesWrite, session: SessionDep) -> DeliveryOut:
    return DeliveryOut.model_validate(await service.replay(session, principal.company_id, delivery_id))


@router.post("/deliveries/{delivery_id}/cancel", response_model=DeliveryOut, summary="Stop a row")
async def cancel_delivery(delivery_id: int, principal: DeliveriesWrite, session: SessionDep) -> DeliveryOut:
    return DeliveryOut.model_validate(await service.cancel(session, principal.company_id, delivery_id))
