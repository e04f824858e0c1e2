"""The inbound handler for ("echo", "notes"): a note changed at Echo. The test connector has no
domain tables, so it keeps what it applied in `APPLIED` (the tests read it) and says so in the
event's outcome. The dispatcher never calls it for an echo of FieldBridge's own write."""

from fieldbridge.inbound.handlers import Ignored, InboundContext
from fieldbridge.inbound.models import InboundEvent

APPLIED: list[tuple[int, str | None, str | None]] = []  # (connection id, note id, updated_at)
KNOWN = ("note.created", "note.updated")


async def note_changed(ctx: InboundContext, event: InboundEvent) -> str | Ignored:
    if event.event_type not in KNOWN:
        return Ignored(f"echo {event.event_type!r} events change nothing here")
    APPLIED.append((ctx.connection.id, event.remote_id, event.remote_version))
    title = str(event.payload.get("data", {}).get("title", ""))[:80]
    return f"note {event.remote_id} at {event.remote_version}: {title}"
