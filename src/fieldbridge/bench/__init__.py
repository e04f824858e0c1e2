"""Benchmark scenarios behind `fieldbridge bench`; each prints exactly one JSON line.

Each scenario is a module in this package that defines a Typer command on `bench_app`;
`fieldbridge.cli` imports them all so they register themselves.
"""

import json
from typing import Any

import typer

bench_app = typer.Typer(help="Benchmark scenarios; each prints one JSON line.", no_args_is_help=True)


@bench_app.callback()
def _connectors() -> None:
    """Every scenario runs delivery in this process: hand it the shipped connectors first."""
    from fieldbridge import wiring

    wiring.install()


def emit(result: dict[str, Any]) -> None:
    """Print one benchmark result as a single JSON line on stdout."""
    typer.echo(json.dumps(result, sort_keys=True))
