"""The document's ``events``: every kill, restart and failure the findings cite, and the configuration changes
around them where the host's own file times are known; and the chart laid out from them."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ostriage.report.chart import CONFIG_ROW, layout

Ostriage = Any  # the ``ostriage`` fixture of conftest.py


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_every_kill_restart_and_failure_is_an_event(seed_doc: dict[str, Any]) -> None:
    events = seed_doc["events"]
    kinds = Counter(e["kind"] for e in events)
    findings = {f["code"]: f for f in seed_doc["findings"]}
    assert kinds["oom-kill"] == findings["OOM001"]["data"]["kills"]
    assert kinds["connect-failure"] == findings["NOV001"]["data"]["connect_failures"]
    assert kinds["restart"] >= 7  # the journal's restart counter reached 7
    kills = [e for e in events if e["kind"] == "oom-kill"]
    assert {e["limit_bytes"] for e in kills} == {2 * 1024**3}  # MemoryMax=2G
    assert [e["bytes"] for e in kills] == [kb * 1024 for kb in findings["OOM001"]["data"]["anon_rss_kb"]]
    assert [e["offset_seconds"] for e in events] == sorted(e["offset_seconds"] for e in events)
    # the text timeline keeps only the first and last of each series
    assert len(seed_doc["timeline"]) < len(events)
    assert all(any(e["time"] == t["time"] and e["evidence"]["line"] == t["evidence"]["line"] for e in events)
               for t in seed_doc["timeline"])


def test_a_config_change_before_the_incident_is_placed(seed_copy: Path, ostriage: Ostriage) -> None:
    """sos keeps the files' own times; this copy's ml2_conf.ini changed 22 s before the first event
    (the date file says UTC), its neutron.conf after the collection (a time of the copy, not the host's)."""
    ml2 = seed_copy / "etc/neutron/plugins/ml2/ml2_conf.ini"
    os.utime(ml2, (_utc("2026-11-25 05:52:40"), _utc("2026-11-25 05:52:40")))
    os.utime(seed_copy / "etc/neutron/neutron.conf", (_utc("2026-11-26 09:00:00"),) * 2)
    override = seed_copy / "etc/systemd/system/neutron-server.service.d/override.conf"
    os.utime(override, (_utc("2026-11-20 10:00:00"),) * 2)  # days before: not part of this incident
    doc = ostriage("diagnose", seed_copy, "--format", "json").json()
    changes = [e for e in doc["events"] if e["kind"] == "config-change"]
    assert changes == [{
        "time": "2026-11-25 05:52:40", "offset_seconds": 0.0, "kind": "config-change",
        "subject": "neutron-server", "what": "etc/neutron/plugins/ml2/ml2_conf.ini changed", "bytes": None,
        "limit_bytes": None, "finding": None,
        "evidence": {"path": "etc/neutron/plugins/ml2/ml2_conf.ini", "line": None, "text": ""}}]
    chart = layout(doc["events"])
    assert chart is not None and chart.rows[-1].label == CONFIG_ROW
    assert [m.kind for m in chart.rows[-1].marks] == ["config-change"]


def test_the_chart_shares_one_axis_and_rows_memory_first(seed_doc: dict[str, Any]) -> None:
    chart = layout(seed_doc["events"])
    assert chart is not None
    assert chart.rows[0].label == "neutron-server" and chart.rows[0].limit_bytes == 2 * 1024**3
    xs = {m.index: m.x for row in chart.rows for m in row.marks}
    assert sorted(xs) == list(range(len(seed_doc["events"])))
    # one axis: the same offset is the same x in every row
    by_offset = sorted((e["offset_seconds"], xs[i]) for i, e in enumerate(seed_doc["events"]))
    assert [x for _, x in by_offset] == sorted(x for _, x in by_offset)
    assert chart.x0 <= min(xs.values()) and max(xs.values()) <= chart.x1
    labels = [label for _, label in chart.ticks]
    assert labels[0] <= "05:53:02" < "05:54:26" <= labels[-1] or len(labels) >= 5


def test_no_events_no_chart() -> None:
    assert layout([]) is None
