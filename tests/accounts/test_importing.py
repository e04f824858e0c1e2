"""The worker CSV import reads what spreadsheets save, reports bad lines by line number, and works in bulk."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from fieldbridge.accounts import importing
from fieldbridge.kit.db import Database
from fieldbridge.kit.errors import Unprocessable
from fieldbridge.settings import Settings
from tests.factories import PASSWORD, Tenant, bearer, create_tenant, sign_in_browser


async def _import(client: httpx.AsyncClient, tenant: Tenant, data: bytes | str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/workers/import",
        content=data.encode() if isinstance(data, str) else data,
        headers={**bearer(tenant.api_key), "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _workers(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, dict[str, Any]]:
    listed = await client.get("/api/v1/workers", params={"per_page": 200}, headers=bearer(tenant.api_key))
    return {w["name"]: w for w in listed.json()["items"] if w["id"] != tenant.worker.id}


async def test_excel_files_with_a_bom_and_semicolons_import(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    europe = "\ufeffName;Employee ID;Trade;Is Foreman\r\nJosé Núñez;S1;Carpintería;sí\r\nAnn Lee;S2;;\r\n"
    assert await _import(client, tenant, europe) == {"created": 2, "updated": 0, "errors": []}
    utf16 = "name\ttrade\nLi Wei\tSteel\n".encode("utf-16")
    assert (await _import(client, tenant, utf16))["created"] == 1
    workers = await _workers(client, tenant)
    assert workers["José Núñez"]["employee_id"] == "S1"
    assert workers["José Núñez"]["is_foreman"] is True
    assert workers["Ann Lee"]["trade"] is None
    assert workers["Li Wei"]["trade"] == "Steel"


async def test_bad_lines_are_reported_by_line_number_and_the_rest_imports(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    text = (
        "name,employee_id,pin,email\n"  # line 1
        '"Ann One,A1,7001,\n'  # 2: the quote never closes
        "Bob Two,B2,7002,\n"  # 3
        "\n"  # 4: blank, skipped
        "Nul\x00Name,C3,,\n"  # 5
        "Dee Four,D4,7002,\n"  # 6: Bob's PIN
        "Eve Five,B2,,\n"  # 7: Bob's employee id again
        "Fay Six,F6,,not-an-email\n"  # 8
        "Gus Seven,G7,,,extra\n"  # 9
        "Hal Eight,H8,,\n"  # 10
    )
    result = await _import(client, tenant, text)
    assert result["created"] == 2
    assert result["errors"] == [
        "line 2: a quote opens a value that does not close on this line",
        "line 5: contains a NUL character; remove it",
        "line 6: the PIN is already given to line 3",
        "line 7: employee id B2 is already on line 3",
        "line 8: email: value is not a valid email address: An email address must have an @-sign.",
        "line 9: has 5 values but the header has 4 columns",
    ]
    assert sorted(await _workers(client, tenant)) == ["Bob Two", "Hal Eight"]


async def test_updates_by_employee_id_change_only_the_filled_cells_and_keep_pins_unique(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    first = "name,employee_id,trade,pin,is_foreman\nAnn One,A1,Concrete,7001,yes\nBob Two,B2,Concrete,7002,\n"
    assert (await _import(client, tenant, first))["created"] == 2
    again = (
        "name,employee_id,trade,pin\n"
        "Ann Renamed,A1,,7001\n"  # her own PIN again: fine
        "Bob Two,B2,Masonry,7001\n"  # Ann's PIN, given to her on line 2
        "Cy New,,,7002\n"  # Bob's PIN (Bob keeps it: his line failed)
        f"Held,,,{1000 + int((tenant.worker.employee_id or 'E0')[1:])}\n"  # the tenant worker's PIN
    )
    result = await _import(client, tenant, again)
    assert result["created"] == 0
    assert result["updated"] == 1
    taken = "that PIN is already in use in this company; choose another"
    assert result["errors"] == [
        "line 3: the PIN is already given to line 2",
        f"line 4: {taken}",
        f"line 5: {taken}",
    ]
    workers = await _workers(client, tenant)
    assert workers["Ann Renamed"]["trade"] == "Concrete"
    assert workers["Ann Renamed"]["is_foreman"] is True
    assert workers["Bob Two"]["trade"] == "Concrete"
    signed = await client.post(
        "/api/v1/auth/worker-sign-in", json={"company_code": tenant.company.code, "pin": "7002"}
    )
    assert signed.json()["worker"]["name"] == "Bob Two"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"nombre;oficio\nAna;Acero\n", "csv_no_name_column"),
        (b"\n\nname\nAna\n", "csv_no_name_column"),
        ("name\nJos\u00e9\n".encode("latin-1"), "csv_not_utf8"),
    ],
)
async def test_files_that_cannot_be_read_are_a_422_that_says_why(
    client: httpx.AsyncClient, db: Database, settings: Settings, data: bytes, code: str
) -> None:
    tenant = await create_tenant(db, settings)
    response = await client.post(
        "/api/v1/workers/import", content=data, headers={**bearer(tenant.api_key), "content-type": "text/csv"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert "name" in response.json()["error"]["message"] or "UTF-8" in response.json()["error"]["message"]


def test_problems_past_the_first_two_hundred_are_counted() -> None:
    text = "name,email\n" + "".join(f"W{i},bad\n" for i in range(250))
    parsed = importing.parse(text)
    assert len(parsed.lines) == 250
    listed = importing._listed([(n, "x") for n in range(2, 252)])
    assert len(listed) == importing.MAX_LISTED + 1
    assert listed[-1] == "... and 50 more lines with problems"


@contextmanager
def counted_statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]).split()[0])

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def test_thousands_of_lines_take_a_few_statements_not_one_per_line(
    db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    rows = 3_000

    def file(trade: str) -> bytes:
        lines = [f"Worker {i},E{i:05d},{100000 + i},{trade}\n" for i in range(rows)]
        return ("name,employee_id,pin,trade\n" + "".join(lines)).encode()

    for trade, created, updated in (("Framing", rows, 0), ("Drywall", 0, rows)):
        with counted_statements(db) as statements:
            async with db.transaction() as session:
                result = await importing.import_workers_csv(session, settings, tenant.company.id, file(trade))
        assert (result.created, result.updated, result.errors) == (created, updated, [])
        assert len(statements) < 40, statements


async def test_the_admin_upload_reads_the_same_files(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    csrf = await sign_in_browser(client, tenant.admin.email, PASSWORD)
    upload = '\ufeffname;employee_id\nAnn One;A1\n"Bob;B2\nCy;C3\n'.encode()
    page = await client.post(
        "/settings/workers/import",
        data={"csrf_token": csrf},
        files={"file": ("workers.csv", upload, "text/csv")},
    )
    assert page.status_code == 200, page.text
    assert "Imported: 2 created, 0 updated." in page.text
    assert "line 3: a quote opens a value that does not close on this line" in page.text
    bad = await client.post(
        "/settings/workers/import",
        data={"csrf_token": csrf},
        files={"file": ("workers.csv", b"\xff\xfe\x00", "text/csv")},
    )
    assert bad.status_code == 422


def test_unreadable_or_headerless_text_raises_unprocessable() -> None:
    with pytest.raises(Unprocessable):
        importing.decode(b"\xe9t\xe9")
    with pytest.raises(Unprocessable):
        importing.parse("")


async def test_a_csv_larger_than_the_json_limit_is_accepted_up_to_the_upload_limit(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    rows = settings.max_body_bytes // 30
    text = "name,trade\n" + "".join(f"Worker {i:07d},Framing and drywall\n" for i in range(rows))
    assert len(text) > settings.max_body_bytes
    assert (await _import(client, tenant, text))["created"] == rows
