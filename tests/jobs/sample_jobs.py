"""A local-time job the tests register through FIELDBRIDGE_JOB_MODULES (the documented extension
point): at 17:00 in each project's zone it appends one line per run to the file named by
FIELDBRIDGE_TEST_JOBS_LOG, so a test can count runs across processes."""

import json
import os

from fieldbridge.jobs.registry import LocalRun, at_local_time
from fieldbridge.kit.clock import utcnow

JOB = "tests.evening_report"


@at_local_time(JOB, "17:00")
async def evening_report(run: LocalRun) -> None:
    line = {
        "job": run.job_name,
        "project_id": run.project.id,
        "local_date": run.local_date.isoformat(),
        "scheduled_at": run.scheduled_at.isoformat(),
        "ran_at": utcnow().isoformat(),
        "pid": os.getpid(),
    }
    path = os.environ.get("FIELDBRIDGE_TEST_JOBS_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)
