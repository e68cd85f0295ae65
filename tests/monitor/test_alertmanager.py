"""ostriage's alerts against Debian's real Alertmanager 0.25 (the binary `make test` unpacks beside amtool),
run with the shipped example configuration: the v2 API accepts them, the inhibition rules silence the
symptom alerts Prometheus would send for the same unit, the route delivers the story to a webhook, and a
resolved alert ends. Needs root (Debian's build reads its default template from /usr/share/prometheus, laid
over /usr/share in a private mount namespace; the host's stays untouched)."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ostriage.monitor.alerts import LoopInfo, crash_loop_alert, post_alerts, resolved
from ostriage.monitor.labels import Target
from ostriage.monitor.snapshot import Snapshot

from .conftest import DEPLOY, ROOT

sys.path.insert(0, str(ROOT / "lab"))
from ostlab import cgroup  # the lab's memory-cgroup helpers live outside src/


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Receiver:
    """Alertmanager's webhook receiver side: every notification, by path."""

    got: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class RealAlertmanager:
    url: str
    receiver: Receiver

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as response:
            found: list[dict[str, Any]] = json.loads(response.read())
        return found


def _wait(what: str, done: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def alertmanager(amtool: Path, tmp_path: Path) -> Iterator[RealAlertmanager]:
    binary = amtool.parent / "prometheus-alertmanager"
    share = amtool.parents[1] / "share"
    if not binary.exists() or not (share / "prometheus" / "alertmanager" / "default.tmpl").exists():
        pytest.skip(f"Debian's prometheus-alertmanager is not unpacked beside {amtool} (make test does it)")
    if os.geteuid() != 0 or shutil.which("unshare") is None or not cgroup.MEMORY_ROOT.is_dir():
        pytest.skip("needs root, unshare and the cgroup v1 memory controller (a private mount namespace, a cgroup)")
    receiver = Receiver()

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver.got.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    config = (DEPLOY / "alertmanager" / "alertmanager.yml").read_text()
    (tmp_path / "alertmanager.yml").write_text(
        config.replace("http://127.0.0.1:5001/", f"http://127.0.0.1:{hook.server_address[1]}/"))
    shutil.copy(DEPLOY / "alertmanager" / "ostriage.tmpl", tmp_path)
    port = _free_port()
    # a cgroup of this run's own: its teardown kills everything in it, and another checkout's tests may run now
    cg = cgroup.create(f"ostlab_test_alertmanager_{os.getpid()}", 256 << 20)
    proc = subprocess.Popen(cgroup.enter_argv(cg, [
        "unshare", "--mount", "--propagation", "private", "sh", "-c",
        'mount -t overlay ostriage-test -o lowerdir="$1":/usr/share /usr/share && shift && exec "$@"', "am",
        str(share), str(binary), f"--config.file={tmp_path / 'alertmanager.yml'}",
        f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]),
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "alertmanager.log").open("wb"), cwd=tmp_path)
    am = RealAlertmanager(f"http://127.0.0.1:{port}", receiver)
    try:
        _wait("Alertmanager to answer", lambda: _answers(am))
        yield am
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        cgroup.kill_all_and_remove(cg)
        hook.shutdown()
        hook.server_close()


def _answers(am: RealAlertmanager) -> bool:
    try:
        am.alerts()
    except OSError:
        return False
    return True


def test_alertmanager_takes_the_alert_inhibits_the_symptoms_and_delivers_the_story(
        alertmanager: RealAlertmanager, seed_snapshot: Snapshot) -> None:
    now = datetime.now(UTC)
    loop = LoopInfo(Target("neutron-server", "neutron-server.service"), "2 restarts within 600 s",
                    now - timedelta(seconds=20))
    ours = crash_loop_alert(seed_snapshot.document, loop, instance="ostlab-controller",
                            ends_at=now + timedelta(minutes=4), generator_url="http://ostlab-controller:9891/diagnosis")
    post_alerts(alertmanager.url, [ours])
    # what Prometheus sends for the shipped rules on node_exporter's metrics of the same unit
    symptom = {"labels": {"alertname": "OpenStackServiceCrashLooping", "instance": "ostlab-controller", "job": "node",
                          "name": "neutron-server.service", "unit": "neutron-server.service", "severity": "critical"},
               "annotations": {"summary": "neutron-server.service on ostlab-controller was restarted 5 times"},
               "startsAt": ours["startsAt"], "endsAt": ours["endsAt"]}
    other_host = {**symptom, "labels": {**symptom["labels"], "instance": "ctl-2"}}
    post_alerts(alertmanager.url, [symptom, other_host])

    def state(name: str, instance: str) -> dict[str, Any]:
        return next(a for a in alertmanager.alerts()
                    if a["labels"]["alertname"] == name and a["labels"]["instance"] == instance)

    _wait("all three alerts", lambda: len(alertmanager.alerts()) == 3)
    mine = state("OstriageCrashLoop", "ostlab-controller")
    assert mine["status"]["state"] == "active"
    assert "vni_ranges = 1:16777215" in mine["annotations"]["root_cause"]
    assert mine["annotations"] == ours["annotations"]
    inhibited = state("OpenStackServiceCrashLooping", "ostlab-controller")
    assert inhibited["status"]["state"] == "suppressed"
    assert inhibited["status"]["inhibitedBy"] == [mine["fingerprint"]]
    assert state("OpenStackServiceCrashLooping", "ctl-2")["status"]["state"] == "active"  # another host

    # the on-call route (group_wait 0s) delivers it with every annotation
    _wait("the on-call notification", lambda: any(p == "/openstack-oncall" for p, _ in alertmanager.receiver.got))
    note = next(body for p, body in alertmanager.receiver.got if p == "/openstack-oncall")
    assert note["alerts"][0]["annotations"]["fix"].startswith("set [ml2_type_geneve] vni_ranges = 1:65535")

    post_alerts(alertmanager.url, [resolved(ours, datetime.now(UTC))])
    _wait("the crash-loop alert to end", lambda: all(
        a["labels"]["alertname"] != "OstriageCrashLoop" for a in alertmanager.alerts()))
    _wait("the symptom to show again", lambda: state(
        "OpenStackServiceCrashLooping", "ostlab-controller")["status"]["state"] == "active")
