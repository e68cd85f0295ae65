"""Crash-loop alerts built from the recorded seed incident's diagnosis, and POSTed to a real HTTP server
that answers as Alertmanager's /api/v2/alerts does."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ostriage.monitor.alerts import ALERT_NAME, LoopInfo, PostError, crash_loop_alert, post_alerts, resolved
from ostriage.monitor.labels import Target
from ostriage.monitor.snapshot import Snapshot

from .conftest import Alertmanager

NEUTRON = Target("neutron-server", "neutron-server.service")
T0 = datetime(2026, 11, 25, 5, 53, 8, tzinfo=UTC)


def alert_for(snapshot: Snapshot, target: Target = NEUTRON) -> dict[str, Any]:
    loop = LoopInfo(target, "2 restarts within 600 s", T0)
    return crash_loop_alert(snapshot.document, loop, instance="ostlab-controller", ends_at=T0 + timedelta(minutes=4),
                            generator_url="http://ostlab-controller:9891/diagnosis")


def test_the_seed_loop_is_explained_by_its_root_cause(seed_snapshot: Snapshot) -> None:
    alert = alert_for(seed_snapshot)
    root = seed_snapshot.document["root_causes"][0]
    assert alert["labels"] == {"alertname": ALERT_NAME, "instance": "ostlab-controller", "service": "neutron-server",
                               "unit": "neutron-server.service", "severity": "critical", "code": root["code"],
                               "rule": root["rule"]}
    notes = alert["annotations"]
    assert "vni_ranges" in notes["root_cause"] and notes["root_cause"].startswith("NEU001 ml2-segment-range-too-large")
    chain = notes["chain"].splitlines()
    assert chain[0] == notes["root_cause"] and [c.split()[1] for c in chain[1:]] == [
        s["code"] for s in root["chain"]]
    assert "OOM001" in notes["chain"] and "SYS003" in notes["chain"]
    assert "SYS001" in notes["contributors"]  # MemoryMax=2G made it worse
    assert notes["fix"].startswith("set [ml2_type_geneve] vni_ranges = 1:65535")
    assert "ml2_conf.ini:" in notes["evidence"] and "vni_ranges = 1:16777215" in notes["evidence"]
    assert notes["loop"].startswith("2 restarts within 600 s (since 2026-11-25T05:53:08.000Z")
    for part in ("Root cause:", "Chain:", "Fix:", "Evidence:"):
        assert part in notes["description"]
    assert alert["startsAt"] == "2026-11-25T05:53:08.000Z" and alert["endsAt"] == "2026-11-25T05:57:08.000Z"
    assert alert["generatorURL"] == "http://ostlab-controller:9891/diagnosis"


def test_a_loop_the_diagnosis_cannot_explain_says_so(healthy_snapshot: Snapshot) -> None:
    alert = alert_for(healthy_snapshot, Target("", "backup-agent.service"))
    assert alert["labels"]["severity"] == "warning" and "code" not in alert["labels"]
    assert alert["annotations"]["root_cause"].startswith("none found")
    assert alert["labels"]["unit"] == "backup-agent.service" and "service" not in alert["labels"]


def test_resolving_keeps_the_identity(seed_snapshot: Snapshot) -> None:
    alert = alert_for(seed_snapshot)
    done = resolved(alert, T0 + timedelta(minutes=10))
    assert done["labels"] == alert["labels"] and done["endsAt"] == "2026-11-25T06:03:08.000Z"


def test_post_to_the_v2_api_with_basic_auth(seed_snapshot: Snapshot, alertmanager: str) -> None:
    alert = alert_for(seed_snapshot)
    url = alertmanager.replace("http://", "http://ops:s%40cret@") + "/prefix/"
    post_alerts(url, [alert])
    ((path, headers, body),) = Alertmanager.received
    assert path == "/prefix/api/v2/alerts"
    assert headers["Content-Type"] == "application/json"
    assert base64.b64decode(headers["Authorization"].split()[1]) == b"ops:s@cret"
    assert body == [alert]


def test_refusals_and_unreachable_alertmanagers_are_errors_without_secrets(alertmanager: str) -> None:
    with pytest.raises(PostError, match=r"HTTP 400: .*unmarshal error"):
        post_alerts(alertmanager.replace("http://", "http://ops:hunter2@"), [{"not": "an alert"}])
    with pytest.raises(PostError) as refused:
        post_alerts("http://ops:hunter2@127.0.0.1:1", [])
    assert "hunter2" not in str(refused.value) and "127.0.0.1:1/api/v2/alerts" in str(refused.value)
    with pytest.raises(PostError, match="not an http"):
        post_alerts("ftp://am", [])
