"""`fieldbridge webhooks receive`: the reference receiver, for trying webhooks out."""

import typer
import uvicorn

from fieldbridge.webhooks.receiver import ReferenceReceiver, printer

webhooks_app = typer.Typer(help="Outbound webhooks.", no_args_is_help=True)


@webhooks_app.command("receive")
def receive(
    secret: list[str] = typer.Option(
        ..., "--secret", help="The endpoint's whsec_ secret (repeat during a rotation)."
    ),
    port: int = typer.Option(9000, "--port", help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
) -> None:
    """Listen for FieldBridge webhooks: verify each signature, print each new event as one
    JSON line, answer 401 to a bad signature and 200 to a duplicate webhook-id."""
    bad = [s for s in secret if not s.startswith("whsec_")]
    if bad:
        raise typer.BadParameter(
            "a secret starts with whsec_ (copy it from the endpoint page)", param_hint="--secret"
        )
    receiver = ReferenceReceiver(
        secret,
        on_event=printer(lambda line: typer.echo(line)),
        on_rejected=lambda reason: typer.echo(f"rejected: {reason}", err=True),
    )
    typer.echo(f"Listening on http://{host}:{port}/ (any path); Ctrl-C stops.", err=True)
    uvicorn.run(receiver.app(), host=host, port=port, log_level="warning")
