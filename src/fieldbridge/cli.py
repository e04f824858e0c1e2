"""The `fieldbridge` command: serve, db, demo, sandbox, bench."""

import asyncio
import os

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from fieldbridge.accounts.cli import admin_app
from fieldbridge.bench import bench_app
from fieldbridge.connectors.procore.cli import procore_app
from fieldbridge.kit.migrate import check as migrations_check
from fieldbridge.kit.migrate import upgrade as migrations_upgrade
from fieldbridge.settings import Environment, Settings

app = typer.Typer(
    help="FieldBridge: field time and safety data into Procore and friends.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
app.add_typer(procore_app, name="procore")
app.add_typer(admin_app, name="admin")
console = Console()


def _sandbox_cli() -> None:
    try:
        from fieldbridge_sandbox.cli import sandbox_app
    except ImportError:  # the sandbox ships in the same distribution; absent only mid-development
        return
    app.add_typer(sandbox_app, name="sandbox", help="Offline Procore emulator.")


def _load_bench_scenarios() -> None:
    import importlib
    import pkgutil

    import fieldbridge.bench as bench_pkg

    for module in pkgutil.iter_modules(bench_pkg.__path__):
        importlib.import_module(f"fieldbridge.bench.{module.name}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to FIELDBRIDGE_DATABASE_URL."""
    settings = Settings()
    migrations_upgrade(settings.database_url)
    if not settings.is_sqlite:  # PostgreSQL: the worker queue's tables (the [postgres] extra)
        from fieldbridge.delivery.procrastinate_runner import ensure_schema

        if ensure_schema(settings.database_url):
            console.print("Applied the Procrastinate job queue schema.")
    console.print("[green]Database is up to date.[/green]")


@db_app.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree."""
    migrations_check(Settings().database_url)
    console.print("[green]Models and migrations agree.[/green]")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="uvicorn worker processes."),
) -> None:
    """Run the web app and API (applies migrations first)."""
    settings = Settings()
    migrations_upgrade(settings.database_url)
    uvicorn.run(
        "fieldbridge.app:create_server_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
    )


@app.command()
def worker(
    concurrency: int = typer.Option(4, help="Connections drained at once by this process."),
) -> None:
    """Drain the delivery ledger with Procrastinate (PostgreSQL); run as many as you like."""
    settings = Settings()
    if settings.is_sqlite:
        console.print(
            "[red]`fieldbridge worker` needs PostgreSQL; on SQLite, `serve` delivers by itself.[/red]"
        )
        raise typer.Exit(2)
    from fieldbridge.delivery.procrastinate_runner import ProcrastinateRunner, ensure_schema
    from fieldbridge.kit.logging import configure_logging

    configure_logging(json=settings.json_logs)
    ensure_schema(settings.database_url)
    asyncio.run(ProcrastinateRunner(settings).work(concurrency=concurrency))


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    database_url: str = typer.Option(
        "sqlite+aiosqlite:///./fieldbridge-demo.db", help="Where demo data lives."
    ),
) -> None:
    """Try FieldBridge on one machine: SQLite, demo company, logins printed."""
    os.environ.setdefault("FIELDBRIDGE_ENV", Environment.demo.value)
    os.environ["FIELDBRIDGE_DATABASE_URL"] = database_url
    os.environ.setdefault("FIELDBRIDGE_BASE_URL", f"http://{host}:{port}")
    settings = Settings()
    migrations_upgrade(settings.database_url)

    from fieldbridge.demo import seed_demo
    from fieldbridge.kit.db import Database

    async def _seed() -> object:
        database = Database(settings.database_url)
        try:
            async with database.transaction() as session:
                return await seed_demo(session, settings)
        finally:
            await database.dispose()

    logins = asyncio.run(_seed())
    _print_logins(logins, host, port)
    _demo_clock_in_path(settings, port + 1)
    uvicorn.run("fieldbridge.app:create_app", factory=True, host=host, port=port, log_level="warning")


def _demo_clock_in_path(settings: Settings, sandbox_port: int) -> None:
    """The offline Procore sandbox, connected and synced, and a crew clocked in (timekeeping/demo.py)."""
    from fieldbridge.demo import DEMO_COMPANY_CODE
    from fieldbridge.timekeeping import demo as clock_demo

    sandbox_url = clock_demo.start_sandbox(sandbox_port)
    path = asyncio.run(clock_demo.wire(settings, sandbox_url, DEMO_COMPANY_CODE))
    table = Table(title="Procore (offline sandbox)", show_header=False)
    table.add_row("Sandbox", sandbox_url)
    table.add_row("Synced projects", ", ".join(path.projects))
    table.add_row("Phone app", f"{settings.base_url}/app  (company code {DEMO_COMPANY_CODE}, a PIN above)")
    if path.clocked_in:
        table.add_row("Clocked in", f"{', '.join(path.clocked_in)} at {path.place}")
    table.add_row(
        "Timecards in Procore", clock_demo.sandbox_entries_url(path) + "  (a few seconds after start)"
    )
    console.print(table)


def _print_logins(logins: object, host: str, port: int) -> None:
    from fieldbridge.demo import DemoLogins

    assert isinstance(logins, DemoLogins)
    base = f"http://{host}:{port}"
    table = Table(title="FieldBridge demo", show_header=False)
    table.add_row("Admin UI", f"{base}/signin")
    table.add_row("API docs", f"{base}/api/docs")
    table.add_row("Admin", f"{logins.admin_email} / {logins.password}")
    table.add_row("Support", f"{logins.support_email} / {logins.password}")
    table.add_row("Company code", logins.company_code)
    for name, pin in logins.worker_pins:
        table.add_row(f"Worker {name}", f"PIN {pin}")
    console.print(table)


_sandbox_cli()
_load_bench_scenarios()
