"""Webhook tests talk to a real receiver on loopback: this server allows private receivers
(FIELDBRIDGE_WEBHOOKS_ALLOW_PRIVATE), as a self-hosted one would. Tests of the refusal build
their own settings without it."""

from collections.abc import Iterator

import pytest

from fieldbridge.settings import Environment, Settings
from tests.webhooks.helpers import Receiver, running_receiver


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        env=Environment.test,
        database_url=database_url,
        base_url="http://testserver",
        webhooks_allow_private=True,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r
