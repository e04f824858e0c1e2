"""Standard Webhooks signing: the secrets of an endpoint, the exact bytes sent, the headers.

Signatures come from the `standardwebhooks` package (`Webhook.sign`: v1, HMAC-SHA256 over
`{webhook-id}.{webhook-timestamp}.{body}`). During a rotation's overlap window a message
carries one signature per live secret, space-separated, so a receiver that still holds the
old secret and one that already has the new one both verify it.
"""

import base64
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook

from fieldbridge.kit.clock import utcnow

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 24 random bytes in base64 (as Svix makes them)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def body_bytes(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent for a ledger payload (compact JSON, UTF-8); signed as they are."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class SigningSecret:
    key: str
    valid_until: datetime | None = None  # None: the current secret

    def live(self, now: datetime) -> bool:
        return self.valid_until is None or now < self.valid_until


@dataclass(frozen=True)
class EndpointSecrets:
    """What is sealed on the endpoint's connection: signing secrets (newest first) and headers."""

    secrets: tuple[SigningSecret, ...]
    headers: dict[str, str] = field(default_factory=dict)

    def live(self, now: datetime | None = None) -> list[SigningSecret]:
        at = now or utcnow()
        return [s for s in self.secrets if s.live(at)]

    def rotated(self, overlap: timedelta, now: datetime | None = None) -> "EndpointSecrets":
        """A new current secret; the old one keeps signing for `overlap` (dropped when zero)."""
        at = now or utcnow()
        keep: list[SigningSecret] = [SigningSecret(new_secret())]
        if overlap > timedelta(0):
            keep += [SigningSecret(s.key, s.valid_until or at + overlap) for s in self.secrets if s.live(at)]
        return EndpointSecrets(tuple(keep), dict(self.headers))

    def to_json(self) -> str:
        return json.dumps(
            {
                "secrets": [
                    {"key": s.key, "valid_until": s.valid_until.isoformat() if s.valid_until else None}
                    for s in self.secrets
                ],
                "headers": self.headers,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "EndpointSecrets":
        raw = json.loads(text)
        return cls(
            tuple(
                SigningSecret(
                    s["key"], datetime.fromisoformat(s["valid_until"]) if s.get("valid_until") else None
                )
                for s in raw.get("secrets", [])
            ),
            dict(raw.get("headers", {})),
        )


def signature_header(message_id: str, timestamp: datetime, body: bytes, keys: Sequence[str]) -> str:
    """The `webhook-signature` value: one `v1,<base64>` per key, space-separated."""
    text = body.decode()
    return " ".join(Webhook(key).sign(message_id, timestamp, text) for key in keys)


def signed_headers(
    message_id: str, body: bytes, keys: Sequence[str], now: datetime | None = None
) -> dict[str, str]:
    at = (now or utcnow()).replace(microsecond=0)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature_header(message_id, at, body, keys),
    }
