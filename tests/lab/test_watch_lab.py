"""ostriage watch in the real lab, under real Prometheus, Alertmanager and node_exporter (Debian's).

The controller runs ostriage's shipped units under its systemd (ostriage-watch.service, the textfile timer),
Debian's node_exporter inside it, Debian's Prometheus (the shipped rules) and Alertmanager (the shipped
example, its receivers pointed at a webhook in this process) on the host, all on 127.0.0.1. When the `seed`
scenario starts neutron-server's OOM loop, watch's alert must reach Alertmanager with the root cause
`vni_ranges` in its annotations, be delivered by Alertmanager's route, and inhibit the symptom alerts that
Prometheus raises from node_exporter's and the textfile's metrics. Needs root and about 10 minutes (lab up
included); the latency and idle figures come from bench/watch_lab.py, not from here.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import skip_unless_lab_possible

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lab"))

from ostlab import cgroup, container, monitoring, ostriage_install, safety, scenarios  # noqa: E402
from ostlab.shell import wait_for  # noqa: E402


@pytest.fixture(scope="module")
def stack() -> Iterator[monitoring.Stack]:
    skip_unless_lab_possible()
    from ostlab.__main__ import cmd_up

    # What an interrupted run left (its Prometheus and Alertmanager in sessions of their own, a lab whose
    # systemd outlives pytest) would hold the ports and the lab in an unknown state: start from nothing.
    stack = monitoring.Stack()
    stack.stop()
    container.shutdown()
    try:
        cmd_up()
        stack.ostriage = ostriage_install.install()
        stack.start()
        yield stack
    finally:
        # also when cmd_up or the install failed, so that the next run does not find them half-up
        stack.stop()
        container.shutdown()


def _found(stack: monitoring.Stack, alertname: str, **labels: str) -> list[dict[str, Any]]:
    return [a for a in stack.alerts(alertname) if all(a["labels"].get(k) == v for k, v in labels.items())]


def test_the_seed_loop_reaches_alertmanager_with_vni_ranges_as_its_root_cause(stack: monitoring.Stack) -> None:
    assert stack.alerts("OstriageCrashLoop") == []
    seen: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: seen.update(scenarios.apply("seed")))
    runner.start()
    try:
        wait_for("watch's crash-loop alert with vni_ranges as its root cause in Alertmanager", lambda: any(
            "vni_ranges" in a["annotations"].get("root_cause", "")
            for a in _found(stack, "OstriageCrashLoop", unit="neutron-server.service")), 300, 0.5)
    finally:
        runner.join()
    assert int(seen["oom_kills"]) >= 4, seen

    (alert,) = _found(stack, "OstriageCrashLoop", unit="neutron-server.service")
    assert alert["labels"]["instance"] == monitoring.INSTANCE
    assert alert["labels"]["code"] == "NEU001" and alert["labels"]["severity"] == "critical"
    notes = alert["annotations"]
    assert "vni_ranges = 1:16777215" in notes["root_cause"], notes
    assert notes["chain"].splitlines()[1].startswith("→ OOM001 service-oom-kill-loop: neutron-server.service")
    assert "vni_ranges = 1:65535" in notes["fix"]
    assert "ml2_conf.ini" in notes["evidence"]
    assert alert["status"]["state"] == "active"

    # Alertmanager's own route delivered it, with the story, to the on-call receiver
    assert stack.webhook is not None
    wait_for("the on-call receiver's notification", lambda: any(
        path == "/openstack-oncall" for _, path, _ in stack.webhook.received), 60, 0.5)
    note = next(body for _, path, body in stack.webhook.received if path == "/openstack-oncall")
    assert "vni_ranges" in note["alerts"][0]["annotations"]["root_cause"]


def test_prometheus_rules_on_node_exporter_and_textfile_metrics_are_inhibited_by_the_diagnosis(
        stack: monitoring.Stack) -> None:
    # node_exporter's restart counter of the crash-looping unit (for: 1m, then sent to Alertmanager)
    wait_for("OpenStackServiceCrashLooping from node_exporter's systemd collector", lambda: bool(
        _found(stack, "OpenStackServiceCrashLooping", unit="neutron-server.service")), 300, 2)
    # the textfile collector's diagnosis, as the shipped timer's service writes it
    container.sh("systemctl start ostriage-textfile.service", timeout=300)
    wait_for("OstriageRootCause NEU001 from the textfile collector", lambda: bool(
        _found(stack, "OstriageRootCause", code="NEU001")), 180, 2)
    for name, labels in (("OpenStackServiceCrashLooping", {"unit": "neutron-server.service"}),
                         ("OstriageRootCause", {"code": "NEU001"})):
        (alert,) = _found(stack, name, **labels)
        assert alert["labels"]["instance"] == monitoring.INSTANCE
        assert alert["status"]["state"] == "suppressed" and alert["status"]["inhibitedBy"], (name, alert["status"])
    # node_exporter's own OOM counter (the kernel is the host's: it counts the lab's kills)
    wait_for("HostOOMKill from node_vmstat_oom_kill", lambda: bool(_found(stack, "HostOOMKill")), 120, 2)
    assert stack.query('ostriage_watch_source_up{source="journal"}')[0]["value"][1] == "1"
    # the lab gives the controller the host's /dev/kmsg: watch counted the kernel's kills of neutron-server
    assert stack.query('ostriage_watch_source_up{source="kmsg"}')[0]["value"][1] == "1"
    kills = stack.query('ostriage_watch_oom_kills_total{unit="neutron-server.service"}')
    assert kills and float(kills[0]["value"][1]) >= 4


def test_watch_runs_under_its_shipped_unit_and_serves_its_diagnosis(stack: monitoring.Stack) -> None:
    props = dict(line.split("=", 1) for line in container.sh(
        "systemctl show ostriage-watch.service -p ActiveState -p NRestarts -p ProtectSystem", logname=None
    ).stdout.splitlines() if "=" in line)
    assert props == {"ActiveState": "active", "NRestarts": "0", "ProtectSystem": "strict"}
    with urllib.request.urlopen(f"http://{monitoring.HOST}:{monitoring.PORTS['watch']}/diagnosis", timeout=10) as r:
        doc = json.loads(r.read())
    assert doc["target"]["kind"] == "live" and doc["root_causes"][0]["code"] == "NEU001"
    assert stack.watch_pid() > 0
    safety.assert_loopback_only()
    assert stack.listeners_on_loopback()


def test_teardown_leaves_nothing(stack: monitoring.Stack) -> None:
    stack.stop()
    container.shutdown()
    safety.assert_nothing_left()
    assert not stack.cgroup.exists()
    assert not monitoring.RUN.exists()
    assert not any(p.name.startswith(monitoring.CGROUP) for p in
                   (cgroup.MEMORY_ROOT / cgroup.own_path().lstrip("/")).iterdir())
