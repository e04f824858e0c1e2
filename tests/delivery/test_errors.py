"""One classification of failures, and backoff bounds."""

import random

import httpx
import pytest

from fieldbridge.connections.outcomes import (
    OutcomeUnknown,
    ParkConnection,
    Rejected,
    Transient,
    backoff_seconds,
    classify,
)
from fieldbridge.connectors.procore import errors as procore
from fieldbridge.connectors.procore.connector import map_error


@pytest.mark.parametrize(
    ("exc", "wrote", "expected"),
    [
        (procore.ReconnectRequired("reconnect"), True, ParkConnection),
        (procore.OutcomeUnknown("lost"), True, OutcomeUnknown),
        (procore.RateLimited("slow down", retry_after=3), True, Transient),
        (procore.ProcoreUnavailable("503"), True, Transient),
        (procore.NotPermitted("no"), True, Rejected),
        (procore.Rejected("422"), True, Rejected),
        (httpx.ReadTimeout("slow"), True, OutcomeUnknown),
        (httpx.ReadTimeout("slow"), False, Transient),
        (httpx.RemoteProtocolError("dropped"), True, OutcomeUnknown),
        (httpx.ConnectError("refused"), True, Transient),
        (ValueError("bug"), True, Transient),
    ],
)
def test_classify(exc: BaseException, wrote: bool, expected: type) -> None:
    failure = classify(exc, wrote=wrote, mapping=map_error)
    assert type(failure) is expected
    assert failure.reason


def test_rate_limit_keeps_its_retry_after() -> None:
    failure = classify(procore.RateLimited("slow down", retry_after=9), wrote=True, mapping=map_error)
    assert isinstance(failure, Transient)
    assert failure.retry_after == 9


def test_without_the_connectors_mapping_its_errors_are_only_transient() -> None:
    """delivery knows no connector: only the mapping a connector declares gives its errors
    their class (a reconnect parks the connection only through Procore's mapping)."""
    failure = classify(procore.ReconnectRequired("reconnect"), wrote=True)
    assert type(failure) is Transient
    assert type(classify(procore.ReconnectRequired("reconnect"), wrote=True, mapping=map_error)) is (
        ParkConnection
    )


def test_backoff_grows_with_jitter_is_capped_and_honours_retry_after() -> None:
    rng = random.Random(1)
    first = [backoff_seconds(1, rng=rng) for _ in range(50)]
    assert all(1.0 <= d <= 2.0 for d in first)
    assert all(450 <= backoff_seconds(40, rng=rng) <= 900 for _ in range(20))
    assert backoff_seconds(1, retry_after=30, rng=rng) == 30
    assert len(set(first)) > 1
