"""Error classification from hand-built Procore responses."""

import httpx

from fieldbridge.connectors.procore.errors import (
    NotPermitted,
    ProcoreUnavailable,
    RateLimited,
    ReconnectRequired,
    Rejected,
    RemoteNotFound,
    classify,
)


def response(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_success_is_none() -> None:
    assert classify(response(200, [])) is None


def test_rate_limit_carries_retry_after() -> None:
    error = classify(response(429, {"message": "slow down"}, **{"Retry-After": "7"}))
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7


def test_server_errors_are_retriable() -> None:
    assert isinstance(classify(response(503, {}, **{"Retry-After": "2"})), ProcoreUnavailable)


def test_uninstalled_app_needs_reconnect_and_other_403s_do_not() -> None:
    gone = classify(response(403, {"errors": "App is not connected to this company"}))
    assert isinstance(gone, ReconnectRequired)
    assert "App Management" in gone.message
    assert isinstance(classify(response(403, {"errors": "Resource outside access scope"})), NotPermitted)


def test_not_found_and_validation_errors_are_permanent() -> None:
    assert isinstance(classify(response(404, {"message": "Project not found"})), RemoteNotFound)
    error = classify(response(422, {"errors": {"hours": ["is invalid"]}}))
    assert isinstance(error, Rejected)
    assert "hours is invalid" in error.message
