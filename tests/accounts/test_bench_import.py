"""`fieldbridge bench import` prints one JSON line with the counts and timings it names."""

import json

from typer.testing import CliRunner

from fieldbridge.cli import app
from fieldbridge.settings import Settings


def test_bench_import_creates_then_updates_every_row(settings: Settings) -> None:
    env = {"FIELDBRIDGE_ENV": "test", "FIELDBRIDGE_DATABASE_URL": settings.database_url}
    result = CliRunner().invoke(app, ["bench", "import", "--rows", "120"], env=env)
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["scenario"] == "import"
    assert (line["rows"], line["created"], line["updated"], line["errors"]) == (120, 120, 120, 0)
    assert {"create_seconds", "update_seconds", "rows_per_s"} <= set(line)
