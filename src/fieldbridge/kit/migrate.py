"""Run Alembic programmatically: `fieldbridge db upgrade`, `serve` on start, and tests."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    config.set_main_option("path_separator", "os")
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "heads") -> None:
    """Alembic's env runs its own event loop, so run it in a thread from async code."""
    await asyncio.to_thread(upgrade, url, revision)


def check(url: str) -> None:
    """Fails when the models and the migrations disagree."""
    command.check(alembic_config(url))
