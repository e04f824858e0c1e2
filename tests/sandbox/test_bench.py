"""The bench scenario runs against the real app and reports a positive rate, all 200s."""

from __future__ import annotations

from fieldbridge.bench.sandbox import _run


async def test_bench_sandbox_reports_gets_per_second() -> None:
    result = await _run(200, 25)
    assert result["scenario"] == "sandbox"
    assert result["statuses"] == {"200": 200}
    assert result["gets_per_s"] > 0
