"""`fieldbridge bench import`: the worker CSV import at size, on the configured database.

Makes a company with a code of its own, builds a CSV of `--rows` workers (name, title, trade,
employee id, email, phone, PIN, foreman flag: every column the import reads), imports it (all
creates), then imports it again with every title changed (all updates, matched by employee
id), each in one transaction as the API's request does. Prints one JSON line:

- `rows`; `created`, `updated`, `errors` (counts; both imports must report no problem lines);
- `create_seconds`, `update_seconds`: wall time of each import, commit included;
- `rows_per_s`: rows / create_seconds.
"""

import asyncio
import secrets
import time
from typing import Any

import typer

from fieldbridge.accounts import service as accounts_service
from fieldbridge.accounts.importing import import_workers_csv
from fieldbridge.bench import bench_app, emit
from fieldbridge.kit.db import Database
from fieldbridge.kit.migrate import upgrade_async
from fieldbridge.settings import Settings


def worker_csv(rows: int, title: str) -> bytes:
    lines = ["name,title,trade,employee_id,email,phone,pin,is_foreman"]
    for n in range(rows):
        lines.append(
            f"Worker {n},{title},Concrete,B{n:06d},worker{n}@bench.example,555-{n:07d},"
            f"{10_000_000 + n},{'yes' if n % 10 == 0 else 'no'}"
        )
    return ("\n".join(lines) + "\n").encode()


async def _run(settings: Settings, rows: int) -> dict[str, Any]:
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            code = "BENCH-" + secrets.token_hex(3).upper()
            company = await accounts_service.create_company(session, "Import bench", code)
            company_id = company.id
        timings: list[float] = []
        results = []
        for title in ("Laborer", "Lead"):
            data = worker_csv(rows, title)
            started = time.perf_counter()
            async with db.transaction() as session:
                results.append(await import_workers_csv(session, settings, company_id, data))
            timings.append(time.perf_counter() - started)
    finally:
        await db.dispose()
    created, updated = results
    return {
        "scenario": "import",
        "database": "sqlite" if settings.database_url.startswith("sqlite") else "postgresql",
        "rows": rows,
        "created": created.created,
        "updated": updated.updated,
        "errors": len(created.errors) + len(updated.errors),
        "create_seconds": round(timings[0], 2),
        "update_seconds": round(timings[1], 2),
        "rows_per_s": round(rows / timings[0], 1),
    }


@bench_app.command("import")
def bench_import(
    rows: int = typer.Option(30_000, min=1, max=200_000, help="workers in the file"),
) -> None:
    """Import a worker CSV of --rows lines twice (creates, then updates) on FIELDBRIDGE_DATABASE_URL."""
    emit(asyncio.run(_run(Settings(), rows)))
