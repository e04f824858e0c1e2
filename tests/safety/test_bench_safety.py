"""`fieldbridge bench safety` runs for real at a tiny size (its own sandbox process, this
test's database) and prints one JSON line with exactly the issue's fields. No timing asserted."""

import json
import os
import subprocess
import sys

from fieldbridge.settings import Settings


def test_bench_safety_prints_one_line_and_loses_nothing_under_faults(settings: Settings) -> None:
    env = {**os.environ, "FIELDBRIDGE_ENV": "dev", "FIELDBRIDGE_DATABASE_URL": settings.database_url}
    args = ["bench", "safety", "--events", "30", "--projects", "2", "--rate", "30", "--faults"]
    done = subprocess.run(
        [sys.executable, "-c", "from fieldbridge.cli import app; app()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # Log lines share stdout (kit/logging.py); in dev they are text, the result is the JSON line.
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, done.stdout
    result = json.loads(lines[0])
    assert set(result) == {
        "observations",
        "delivered",
        "duplicates",
        "lost",
        "requests_per_observation",
        "http_429",
        "latency_p95_ms",
        "bound_ms",
        "window_bound_ms",
    }
    assert result["observations"] > 0
    assert result["delivered"] == result["observations"]
    assert result["duplicates"] == 0
    assert result["lost"] == 0
