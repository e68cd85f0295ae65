"""Fixtures for the monitoring tests: Debian's promtool/amtool (``make test`` unpacks them into .venv) and
the diagnosis snapshots of the recorded seed incident and of the healthy scenario."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

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


class Alertmanager(http.server.BaseHTTPRequestHandler):
    """Answers like Alertmanager 0.25: 200 for a JSON array of postable alerts, 400 with a reason otherwise."""

    received: ClassVar[list[tuple[str, dict[str, str], Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            alerts = json.loads(body)
            ok = isinstance(alerts, list) and all({"labels", "startsAt", "endsAt"} <= set(a) for a in alerts)
        except ValueError:
            ok = False
        self.received.append((self.path, dict(self.headers), json.loads(body) if ok else body))
        self.send_response(200 if ok and self.path.endswith("/api/v2/alerts") else 400)
        self.end_headers()
        if not ok:
            self.wfile.write(b'{"code":400,"message":"unmarshal error"}')

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def alertmanager() -> Iterator[str]:
    Alertmanager.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Alertmanager)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
