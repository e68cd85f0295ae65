"""Fixtures for the monitoring tests: Debian's promtool/amtool (``make test`` unpacks them into .venv) and
the diagnosis snapshots of the recorded seed incident and of the healthy scenario."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ostriage.monitor.snapshot import Snapshot, take
from ostriage.sources import open_target

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-incident"
HEALTHY = ROOT / "tests" / "scenarios" / "healthy-controller" / "sos"
DEPLOY = ROOT / "deploy"
# where `make test` (.ci/prometheus-tools) unpacks Debian's prometheus and prometheus-alertmanager packages
UNPACKED = ROOT / ".venv" / "prometheus" / "root" / "usr" / "bin"


def _tool(name: str) -> Path:
    found = os.environ.get(f"OSTRIAGE_{name.upper()}") or shutil.which(name)
    if found:
        return Path(found)
    if (UNPACKED / name).exists():
        return UNPACKED / name
    pytest.skip(f"{name} not found: `make test` unpacks Debian's prometheus packages into .venv/prometheus with "
                f"apt-get download (needs apt), or put {name} on PATH / set OSTRIAGE_{name.upper()}")


@pytest.fixture(scope="session")
def promtool() -> Path:
    return _tool("promtool")


@pytest.fixture(scope="session")
def amtool() -> Path:
    return _tool("amtool")


@pytest.fixture(scope="session")
def seed_snapshot() -> Snapshot:
    with open_target(str(SEED)) as source:
        return take(source)


@pytest.fixture(scope="session")
def healthy_snapshot() -> Snapshot:
    with open_target(str(HEALTHY)) as source:
        return take(source)
