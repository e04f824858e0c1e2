"""Procore answering 503 to everything (the sandbox's fault injection), and back again."""

from tests.procore_fixtures import ProcoreEnv

DOWN = {"error_rate": 1.0, "error_statuses": [503], "retry_after_seconds": 0, "path_prefixes": ["/rest/"]}


async def procore_down(env: ProcoreEnv, down: bool = True) -> None:
    answer = await env.sandbox.put("/_sandbox/faults", json=DOWN if down else {"error_rate": 0.0})
    assert answer.status_code == 200, answer.text
