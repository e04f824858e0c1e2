"""`fieldbridge bench webhooks` under faults: a receiver answering 5xx, timing out and dropping
the connection after taking a message. Nothing is lost; every duplicate the receiver sees is
one of its own dropped answers, and it de-duplicates them."""

import pytest

from fieldbridge.bench.webhooks import run
from fieldbridge.delivery.runner import registry
from fieldbridge.settings import Settings


@pytest.mark.slow
async def test_the_bench_loses_nothing_under_faults(settings: Settings) -> None:
    shipped = registry()
    result = await run(40, True, settings)
    assert registry() is shipped  # the scaled-down connector is gone again
    assert result["messages"] == result["delivered"] == 40
    assert result["lost"] == 0
    assert result["duplicates"] == result["injected"]["drop"]
    assert sum(result["injected"].values()) > 0
    assert set(result) >= {"messages", "messages_per_s", "latency_p95_ms", "duplicates", "lost"}
