"""`fieldbridge bench scale` at a tiny size: the whole rig runs (sandbox, receiver, ledger,
scheduler on one simulated clock) and prints exactly the figures the issue asks for."""

from pathlib import Path

from fieldbridge.bench.scale import Options, run_scale
from fieldbridge.kit.migrate import upgrade_async

KEYS = {
    "idle_requests_per_project_hour",
    "idle_budget_share",
    "export_p95_ms",
    "export_p95_ms_quiet",
    "export_p95_ratio",
    "changes_made",
    "changes_missed",
    "change_latency_p95_s",
    "reconcile_latency_p95_s",
}


async def test_bench_scale_runs_at_a_tiny_size(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'scale.db'}"
    await upgrade_async(url)
    opts = Options(projects=4, speed=60, minutes=4, loaded_minutes=1, changes=300, clockouts=6, drop=0.2)
    result = await run_scale(opts, url)
    assert set(result) == KEYS
    assert result["changes_made"] >= 10
    assert result["changes_missed"] == 0  # dropped webhooks too: recovered from Procore's log
    assert result["idle_budget_share"] > 0  # checks and sweep units ran, as the reconcile class
    assert result["export_p95_ms_quiet"] > 0
