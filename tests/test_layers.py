"""The package graph has no cycles, and the seams that replaced upward imports are installed
in every process (a worker imports no web page, yet the ledger still tells the project mirror)."""

import itertools
import subprocess
import sys
from pathlib import Path

import grimp

SRC = Path(__file__).resolve().parents[1] / "src"


def test_no_two_packages_import_each_other() -> None:
    graph = grimp.build_graph("fieldbridge")
    packages = sorted(m for m in graph.modules if m.count(".") == 1 and graph.find_children(m))
    both_ways = [
        (a, b)
        for a, b in itertools.combinations(packages, 2)
        if graph.chain_exists(importer=a, imported=b, as_packages=True)
        and graph.chain_exists(importer=b, imported=a, as_packages=True)
    ]
    assert both_ways == []


def _fresh_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "FIELDBRIDGE_ENV": "test", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_wiring_alone_registers_the_ledger_seams() -> None:
    """What `fieldbridge worker` does at start is enough for a held delivery to reach sites."""
    out = _fresh_python(
        "from fieldbridge import wiring; wiring.install();"
        "from fieldbridge.delivery.recording import PROJECT_UNAVAILABLE;"
        "from fieldbridge.delivery.repository import PROJECT_NAMES;"
        "print(sorted(f'{f.__module__}.{f.__name__}' for f in [*PROJECT_UNAVAILABLE, *PROJECT_NAMES]))"
    )
    assert out == str(
        [
            "fieldbridge.sites.availability.remote_project_unavailable",
            "fieldbridge.sites.repository.project_names",
        ]
    )


def test_the_ledger_alone_registers_nothing() -> None:
    """The seams are filled from above: importing the ledger imports no domain module."""
    out = _fresh_python(
        "import sys; import fieldbridge.delivery.runner, fieldbridge.delivery.web;"
        "from fieldbridge.delivery.recording import PROJECT_UNAVAILABLE;"
        "print(len(PROJECT_UNAVAILABLE), sorted(m for m in sys.modules if m.startswith('fieldbridge.sites')))"
    )
    assert out == "0 []"
