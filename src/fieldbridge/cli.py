"""The `fieldbridge` command: serve, db, demo, sandbox, bench."""

import asyncio
import os
import socket
from typing import Any

import typer
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from rich.console import Console

from fieldbridge.accounts.cli import admin_app
from fieldbridge.bench import bench_app
from fieldbridge.connectors.procore.cli import procore_app
from fieldbridge.connectors.registry import ConnectorModuleError, connector_modules
from fieldbridge.demo.detections import simulate_app
from fieldbridge.kit.migrate import check as migrations_check
from fieldbridge.kit.migrate import upgrade as migrations_upgrade
from fieldbridge.settings import Environment, Settings
from fieldbridge.webhooks.cli import webhooks_app


def settings_problems(exc: ValidationError) -> list[str]:
    """One line per wrong setting, named by its variable; never the value (it may be a secret)."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        names = [f"FIELDBRIDGE_{str(part).upper()}" for part in error["loc"]]
        lines.append(f"{names[0]}: {message}" if names else message)
    return lines


class FieldBridgeCli(typer.Typer):
    """The `fieldbridge` command: wrong settings end in a short message and exit 2, not a traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            if exc.title != Settings.__name__:
                raise
            for line in settings_problems(exc):
                typer.secho(line, fg=typer.colors.RED, err=True)
            raise SystemExit(2) from None
        except ConnectorModuleError as exc:
            typer.secho(str(exc), fg=typer.colors.RED, err=True)
            raise SystemExit(2) from None


app = FieldBridgeCli(
    help="FieldBridge: field time and safety data into Procore and friends.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
app.add_typer(simulate_app, name="simulate")


def wire_procore() -> None:
    """`fieldbridge procore ...`: sites reaches the connector's project sync through the registry."""
    from fieldbridge import wiring

    wiring.install(Settings())


app.add_typer(procore_app, name="procore", callback=wire_procore)
app.add_typer(admin_app, name="admin")
app.add_typer(webhooks_app, name="webhooks")
console = Console()


def _sandbox_cli() -> None:
    try:
        from fieldbridge_sandbox.cli import sandbox_app
    except ImportError:  # the sandbox ships in the same distribution; absent only mid-development
        return
    app.add_typer(sandbox_app, name="sandbox", help="Offline emulators: Procore and ACC.")


def create_bench_server_app() -> FastAPI:
    """What `fieldbridge bench clockin` serves: the server app, plus the stack's floor route
    (`bench/floor.py`); the product's own servers never mount it."""
    from fieldbridge.app import create_server_app, first
    from fieldbridge.bench.floor import PATH, router

    server = create_server_app()
    server.include_router(router)
    first(server, frozenset({PATH}))  # matched as early as the phone's routes: a fair floor
    return server


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
    """Run the web app and API (applies migrations first; checks FIELDBRIDGE_BASE_URL)."""
    from fieldbridge.kit.logging import configure_logging, get_logger
    from fieldbridge.settings import check_base_url

    settings = Settings()
    configure_logging(json=settings.json_logs)
    log = get_logger("fieldbridge.serve")
    found = check_base_url(settings, host, port)
    for warning in found.warnings:
        log.warning("settings.base_url", problem=warning)
    for error in found.errors:
        log.error("settings.base_url_refused", problem=error)
    if found.errors:
        raise typer.Exit(2)
    connector_modules(settings.connector_module_names)  # a wrong name stops here, not in a worker
    migrations_upgrade(settings.database_url)
    uvicorn.run(
        "fieldbridge.app:create_server_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=None,  # uvicorn's loggers go through ours: one format (kit/logging.py)
        proxy_headers=True,
    )


@app.command()
def worker(
    concurrency: int = typer.Option(4, help="Connections drained at once by this process."),
) -> None:
    """Drain the delivery ledger and run local-time jobs with Procrastinate (PostgreSQL); run as
    many as you like."""
    settings = Settings()
    if settings.is_sqlite:
        console.print(
            "[red]`fieldbridge worker` needs PostgreSQL; on SQLite, `serve` delivers by itself.[/red]"
        )
        raise typer.Exit(2)
    from fieldbridge import wiring
    from fieldbridge.delivery.procrastinate_runner import Periodic, ProcrastinateRunner, ensure_schema
    from fieldbridge.jobs.runner import worker_tick
    from fieldbridge.kit.logging import configure_logging

    configure_logging(json=settings.json_logs)
    wiring.install(settings)
    ensure_schema(settings.database_url)
    from fieldbridge.jobs.registry import periodic_jobs
    from fieldbridge.jobs.runner import configured_jobs

    configured_jobs(settings)  # imports the modules that register local-time and periodic jobs
    periodic = [Periodic(job.name, job.cron, job.run) for job in periodic_jobs()]
    if settings.worker_resync:
        from fieldbridge.sites.tasks import worker_resync

        periodic.append(Periodic("sites.resync", settings.worker_resync_cron, worker_resync))
    asyncio.run(
        ProcrastinateRunner(settings, periodic=periodic, local_time=worker_tick(settings)).work(
            concurrency=concurrency
        )
    )


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    database_url: str = typer.Option(
        "sqlite+aiosqlite:///./fieldbridge-demo.db", help="Where demo data lives."
    ),
) -> None:
    """Try FieldBridge on one machine: SQLite, demo company, logins printed; runs until Ctrl-C."""
    for taken in _ports_in_use([(host, port), ("127.0.0.1", port + 1), ("127.0.0.1", port + 2)]):
        typer.secho(
            f"Port {taken} is in use (another `fieldbridge demo`?). Stop that one, or pick free ports: "
            f"fieldbridge demo --port {port + 10} (the demo also takes the next two ports, {port + 11} "
            f"and {port + 12}, for the Procore and ACC sandboxes).",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    os.environ.setdefault("FIELDBRIDGE_ENV", Environment.demo.value)
    os.environ["FIELDBRIDGE_DATABASE_URL"] = database_url
    os.environ.setdefault("FIELDBRIDGE_BASE_URL", f"http://{host}:{port}")
    settings = Settings()
    migrations_upgrade(settings.database_url)

    from fieldbridge.demo.company import DemoLogins, seed_demo
    from fieldbridge.kit.db import Database

    async def _seed() -> DemoLogins:
        database = Database(settings.database_url)
        try:
            async with database.transaction() as session:
                return await seed_demo(session, settings)
        finally:
            await database.dispose()

    logins = asyncio.run(_seed())
    base = f"http://{host}:{port}"
    rows = [("Admin UI", f"{base}/signin"), ("API docs", f"{base}/api/docs")]
    rows += [("Company code", logins.company_code)] + [(login.label, login.login) for login in logins.logins]
    print_pairs("FieldBridge demo", rows)
    _demo_clock_in_path(settings, port + 1)
    _demo_acc_sandbox(port + 2)
    _demo_safety_site(settings, base)
    typer.echo(f"\nServing on {base} until Ctrl-C.")
    uvicorn.run("fieldbridge.app:create_app", factory=True, host=host, port=port, log_level="warning")


def _ports_in_use(addresses: list[tuple[str, int]]) -> list[str]:
    taken = []
    for host, port in addresses:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            try:
                probe.bind((host, port))
            except OSError:
                taken.append(f"{port} on {host}")
    return taken


def print_pairs(title: str, rows: list[tuple[str, str]]) -> None:
    """A label and its value per line, never wrapped or cut, so URLs stay whole at any width."""
    width = max(len(label) for label, _ in rows)
    typer.echo(f"\n{title}")
    for label, value in rows:
        typer.echo(f"  {label.ljust(width)}  {value}")


def _demo_clock_in_path(settings: Settings, sandbox_port: int) -> None:
    """The offline Procore sandbox, connected and synced, and a crew clocked in (demo/crew.py)."""
    from fieldbridge.demo import crew as clock_demo
    from fieldbridge.demo.company import DEMO_COMPANY_CODE

    sandbox_url = clock_demo.start_sandbox(sandbox_port)
    try:
        path = asyncio.run(clock_demo.wire(settings, sandbox_url, DEMO_COMPANY_CODE))
    except ValueError as exc:  # kit/crypto: the stored Procore tokens were sealed with another key
        if "FIELDBRIDGE_SECRET_KEY" not in str(exc):
            raise
        typer.secho(
            f"{settings.database_url} was made with another FIELDBRIDGE_SECRET_KEY: run the demo with "
            "that key, or start afresh with another --database-url.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1) from None
    rows = [
        ("Sandbox", sandbox_url),
        ("Synced projects", ", ".join(path.projects)),
        ("Phone app", f"{settings.base_url}/app  (company code {DEMO_COMPANY_CODE}, a PIN above)"),
    ]
    if path.clocked_in:
        rows.append(("Clocked in", f"{', '.join(path.clocked_in)} at {path.place}"))
    rows.append(
        ("Timecards in Procore", f"{clock_demo.sandbox_entries_url(path)}  (a few seconds after start)")
    )
    print_pairs("Procore (offline sandbox)", rows)


def _demo_acc_sandbox(sandbox_port: int) -> None:
    """The offline ACC (Autodesk Construction Cloud) sandbox beside the Procore one."""
    from fieldbridge.demo.sandboxes import start_acc_sandbox

    url = start_acc_sandbox(sandbox_port)
    rows = [
        ("Sandbox", url),
        ("Issues", f"{url}/_sandbox/  (close one as a person in ACC would)"),
        ("Seed ids", f"{url}/_sandbox/ids"),
    ]
    print_pairs("Autodesk Construction Cloud (offline sandbox)", rows)


def _demo_safety_site(settings: Settings, base: str) -> None:
    """A safety site on the first synced project, with zones, shifts and a few days of events."""
    from fieldbridge.demo.company import DEMO_COMPANY_CODE
    from fieldbridge.demo.safety import seed_site

    site = asyncio.run(seed_site(settings, DEMO_COMPANY_CODE))
    if site.site_id is None:
        return
    rows = [
        ("Site", f"{site.name}: {base}/safety/sites/{site.site_id}"),
        ("Review queue", f"{base}/safety/review"),
        ("Daily summary", f"{base}/safety/sites/{site.site_id}/summary"),
        (
            "Simulator",
            f"fieldbridge simulate detections --site {site.site_id} --rate 5 --url {base} "
            f"--api-key {site.api_key}",
        ),
    ]
    print_pairs("Safety", rows)


_sandbox_cli()
_load_bench_scenarios()
