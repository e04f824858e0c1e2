"""Signatures checked by independent verifiers (`standardwebhooks`, `svix`), rotation overlap,
the retry schedule and Retry-After, without a server."""

import random
from datetime import UTC, datetime, timedelta

import pytest
import svix.webhooks
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from fieldbridge.connections.outcomes import scheduled_delay
from fieldbridge.connectors.webhooks.connector import RETRY_SCHEDULE, retry_after_seconds
from fieldbridge.webhooks.signing import (
    EndpointSecrets,
    SigningSecret,
    body_bytes,
    new_secret,
    signed_headers,
)

BODY = body_bytes({"id": "msg_1", "type": "shift.closed", "data": {"place": "Tower · Level 2 — “east”"}})


def test_a_signed_body_verifies_with_standardwebhooks_and_svix() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    headers = signed_headers("msg_1", BODY, [secret])
    assert Webhook(secret).verify(BODY, headers)["id"] == "msg_1"
    svix.webhooks.Webhook(secret).verify(BODY, headers)  # raises unless a signature matches


def test_a_changed_byte_or_another_secret_fails() -> None:
    secret = new_secret()
    headers = signed_headers("msg_1", BODY, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"east", b"west"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(secret).verify(BODY, {**headers, "webhook-id": "msg_2"})


def test_rotation_signs_with_both_secrets_during_the_overlap_only() -> None:
    now = datetime(2026, 12, 1, 8, tzinfo=UTC)
    old = EndpointSecrets((SigningSecret(new_secret()),), {"Authorization": "Bearer x"})
    rotated = old.rotated(timedelta(hours=24), now)
    new_key, old_key = rotated.secrets[0].key, rotated.secrets[1].key
    assert old_key == old.secrets[0].key
    assert rotated.headers == old.headers
    during = [s.key for s in rotated.live(now + timedelta(hours=23))]
    assert during == [new_key, old_key]
    headers = signed_headers("msg_9", BODY, during)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new_key).verify(BODY, headers)  # a receiver with the new secret
    Webhook(old_key).verify(BODY, headers)  # and one still on the old one
    svix.webhooks.Webhook(old_key).verify(BODY, headers)
    after = [s.key for s in rotated.live(now + timedelta(hours=25))]
    assert after == [new_key]
    with pytest.raises(WebhookVerificationError):
        Webhook(old_key).verify(BODY, signed_headers("msg_9", BODY, after))
    assert EndpointSecrets.from_json(rotated.to_json()) == rotated
    assert [s.key for s in old.rotated(timedelta(0), now).secrets] != [old_key]  # no overlap: old one gone
    assert len(old.rotated(timedelta(0), now).secrets) == 1


def test_the_schedule_follows_svix_with_jitter_never_sooner() -> None:
    assert RETRY_SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 36000)
    rng = random.Random(7)
    for attempt, wait in enumerate(RETRY_SCHEDULE, start=1):
        delay = scheduled_delay(RETRY_SCHEDULE, attempt, rng=rng)
        assert delay is not None
        assert wait <= delay <= wait * 1.2
    assert scheduled_delay(RETRY_SCHEDULE, len(RETRY_SCHEDULE) + 1) is None  # 8 attempts, then failed
    assert scheduled_delay(RETRY_SCHEDULE, 1, retry_after=120.0) == 120.0  # Retry-After wins when later


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Tue, 01 Dec 2026 08:02:00 GMT", now) == 120.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
