"""`fieldbridge procore ...`: project sync from the command line, with a rich progress bar."""

import asyncio

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fieldbridge.connections.connector import ConnectorError
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge.sites.repository import SitesRepository
from fieldbridge.sites.tasks import sync_connection

procore_app = typer.Typer(help="Procore connections: project sync.", no_args_is_help=True)
console = Console()


async def _sync(connection_id: int | None, full: bool) -> int:
    settings = Settings()  # the process is wired (`fieldbridge.cli`: `wire_procore`)
    db = Database(settings.database_url)
    http = HttpClients(allow_emulators=settings.offline_sandbox_allowed)
    box = SecretBox(settings.secret)
    failures = 0
    try:
        async with db.transaction() as session:
            connections = await ConnectionRepository.from_session(session).list_syncable("procore")
        chosen = [c for c in connections if connection_id is None or c.id == connection_id]
        if not chosen:
            console.print("[yellow]No connected Procore connection to sync.[/yellow]")
            return 1
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            for connection in chosen:
                async with db.transaction() as session:
                    tracked = await SitesRepository.from_session(session).tracked_projects(connection.id)
                task = progress.add_task(f"{connection.label}", total=len(tracked) or 1)
                try:
                    result = await sync_connection(
                        db,
                        http,
                        box,
                        connection.id,
                        full=full,
                        base_url=settings.base_url,
                        on_project=lambda _pid, t=task: progress.advance(t),  # type: ignore[misc]
                    )
                except ConnectorError as exc:
                    console.print(f"[red]{connection.label}: {exc.message}[/red]")
                    failures += 1
                    continue
                progress.update(task, completed=len(tracked) or 1)
                for problem in result.failures:
                    console.print(f"[yellow]{connection.label}: {problem}[/yellow]")
                synced = f"{result.projects_synced} project(s) synced, {result.requests} requests"
                console.print(f"{connection.label}: {synced}")
    finally:
        await db.dispose()
    return 1 if failures else 0


@procore_app.command("sync")
def sync(
    connection: int | None = typer.Option(
        None, help="Only this connection id (default: every connected one)."
    ),
    full: bool = typer.Option(False, help="Read everything again instead of only what changed."),
) -> None:
    """List each Procore company's projects and sync the tracked ones now."""
    raise typer.Exit(asyncio.run(_sync(connection, full)))
