"""`fieldbridge sandbox procore`: serve the sandbox with uvicorn."""

from __future__ import annotations

from typing import Literal, cast

import typer

from fieldbridge_sandbox.config import Faults, Latency, RateLimits, SandboxConfig, SeedName

sandbox_app = typer.Typer(
    help="Offline emulators of the services FieldBridge talks to.", no_args_is_help=True
)


@sandbox_app.command("procore")
def procore(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8765, help="Port to listen on."),
    seed: str = typer.Option("demo", help="Seed data: demo, large or empty."),
    persist: str | None = typer.Option(None, help="JSON file that keeps state across restarts."),
    expires_in: int = typer.Option(5400, help="Access-token lifetime in seconds."),
    hourly_limit: int = typer.Option(3600, help="Requests per token per hour."),
    spike_limit: int = typer.Option(100, help="Requests per token per 10 seconds."),
    error_rate: float = typer.Option(0.0, help="Probability of an injected 5xx."),
    drop_rate: float = typer.Option(0.0, help="Probability that a write commits, then the connection drops."),
    latency_ms: float = typer.Option(0.0, help="Maximum added latency (uniform 0..N ms)."),
) -> None:
    """Serve the Procore sandbox (OAuth + REST + /_sandbox control API) on HOST:PORT."""
    import uvicorn

    from fieldbridge_sandbox.app import create_app

    if seed not in ("demo", "large", "empty"):
        raise typer.BadParameter("seed must be demo, large or empty")
    config = SandboxConfig(
        seed=cast(SeedName, seed),
        persist_path=persist,
        expires_in=expires_in,
        rate_limits=RateLimits(hourly=hourly_limit, spike=spike_limit),
        faults=Faults(
            error_rate=error_rate, drop_rate=drop_rate, latency=Latency(min_ms=0.0, max_ms=latency_ms)
        ),
    )
    typer.echo(
        f"Procore sandbox on http://{host}:{port} (seed {seed}); "
        f"control API at /_sandbox/, apps at /_sandbox/apps"
    )
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")


@sandbox_app.command("acc")
def acc(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8766, help="Port to listen on."),
    seed: str = typer.Option("demo", help="Seed data: demo or empty."),
    persist: str | None = typer.Option(None, help="JSON file that keeps state across restarts."),
    expires_in: int = typer.Option(3600, help="Access-token lifetime in seconds."),
    per_minute: int = typer.Option(600, help="Requests per token per minute (then 429)."),
    error_rate: float = typer.Option(0.0, help="Probability of an injected 5xx."),
    drop_rate: float = typer.Option(0.0, help="Probability that a write commits, then the connection drops."),
    latency_ms: float = typer.Option(0.0, help="Maximum added latency (uniform 0..N ms)."),
    timeout_rate: float = typer.Option(0.0, help="Probability that a request hangs unanswered."),
    throttle_rate: float = typer.Option(0.0, help="Probability of an injected 429 with Retry-After."),
    random_seed: int | None = typer.Option(None, help="Makes the probabilistic faults repeatable."),
) -> None:
    """Serve the ACC sandbox (APS OAuth, hubs/projects, Issues, Forms, Webhooks, /_sandbox)."""
    import uvicorn

    from fieldbridge_sandbox_acc import AccConfig, create_app
    from fieldbridge_sandbox_acc.config import acc_faults, acc_rate_limits

    if seed not in ("demo", "empty"):
        raise typer.BadParameter("seed must be demo or empty")
    faults = acc_faults().model_copy(
        update={
            "error_rate": error_rate,
            "drop_rate": drop_rate,
            "timeout_rate": timeout_rate,
            "throttle_rate": throttle_rate,
            "random_seed": random_seed,
            "latency": Latency(max_ms=latency_ms),
        }
    )
    config = AccConfig(
        seed=cast(Literal["demo", "empty"], seed),
        persist_path=persist,
        expires_in=expires_in,
        rate_limits=acc_rate_limits().model_copy(update={"spike": per_minute}),
        faults=faults,
    )
    typer.echo(
        f"ACC sandbox on http://{host}:{port} (seed {seed}); "
        f"control API at /_sandbox/, client ids at /_sandbox/apps, seed ids at /_sandbox/ids"
    )
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")
