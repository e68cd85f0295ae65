"""The diagnosis as Prometheus metrics: values from the recorded seed incident, bounded labels, the
exposition format checked by prometheus-client's parser and by promtool, the textfile written atomically."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ostriage.knowledge.services import SERVICES
from ostriage.monitor.exposition import render, write_textfile
from ostriage.monitor.labels import ENGINES
from ostriage.monitor.metrics import METRICS, SPECS, Sample
from ostriage.monitor.snapshot import Snapshot

from .conftest import ROOT


def values(snapshot: Snapshot, name: str) -> dict[tuple[str, ...], float]:
    return {s.labels: s.value for s in snapshot.samples if s.name == name}


def labelled(snapshot: Snapshot, name: str, **want: str) -> list[float]:
    spec = SPECS[name]
    return [v for labels, v in values(snapshot, name).items()
            if all(dict(zip(spec.labels, labels, strict=True))[k] == w for k, w in want.items())]


def test_the_seed_incident_in_numbers(seed_snapshot: Snapshot) -> None:
    doc = seed_snapshot.document
    assert values(seed_snapshot, "ostriage_diagnosis_status") == {(): 2.0}
    roots = {labels[0] for labels in values(seed_snapshot, "ostriage_root_cause")}
    assert roots == {r["code"] for r in doc["root_causes"]} and "NEU001" in roots
    assert labelled(seed_snapshot, "ostriage_root_cause", code="NEU001", service="neutron-server",
                    severity="critical") == [1.0]
    assert len(values(seed_snapshot, "ostriage_finding")) == len(doc["findings"])
    oom = next(f for f in doc["findings"] if f["code"] == "OOM001")
    assert labelled(seed_snapshot, "ostriage_oom_kills", unit="neutron-server.service") == [oom["data"]["kills"]]
    limit = next(f for f in doc["findings"] if f["code"] == "SYS001")["data"]
    assert labelled(seed_snapshot, "ostriage_memory_limit_bytes", unit="neutron-server.service") == [
        limit["limit_bytes"]] == [2 * 1024**3]
    need = labelled(seed_snapshot, "ostriage_memory_predicted_need_bytes", unit="neutron-server.service")
    assert sorted(need) == [pytest.approx(b, rel=1e-6) for b in sorted(limit["predicted_need_bytes"])]
    assert values(seed_snapshot, "ostriage_neutron_segment_range_ids") == {("geneve",): 16777215.0}
    safe = values(seed_snapshot, "ostriage_neutron_segment_range_safe_ids")[("geneve",)]
    assert 65535 < safe < 16777215  # a range fits the 2 GiB budget, not the incident's
    assert values(seed_snapshot, "ostriage_neutron_memory_budget_bytes") == {(): 2 * 1024**3}
    assert labelled(seed_snapshot, "ostriage_unit_restarts", unit="neutron-server.service") == [
        next(f for f in doc["findings"] if f["code"] == "SYS003")["data"]["n_restarts"]]
    # the last kill, as a Unix time: the recording's kernel lines are local time, the bundle's `date` says UTC
    last = labelled(seed_snapshot, "ostriage_oom_kill_last_timestamp_seconds", unit="neutron-server.service")
    assert last == [pytest.approx(1795586065.088, abs=1)]


def test_a_healthy_controller_has_no_root_cause(healthy_snapshot: Snapshot) -> None:
    assert values(healthy_snapshot, "ostriage_root_cause") == {}
    assert values(healthy_snapshot, "ostriage_diagnosis_status")[()] < 2
    ids = values(healthy_snapshot, "ostriage_neutron_segment_range_ids")
    safe = values(healthy_snapshot, "ostriage_neutron_segment_range_safe_ids")
    assert ids and all(ids[k] <= safe[k] for k in ids)


@pytest.mark.parametrize("which", ["seed_snapshot", "healthy_snapshot"])
def test_label_values_are_bounded(which: str, request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(which)
    services = {s.name for s in SERVICES} | {""}
    for s in snapshot.samples:
        labels = dict(zip(SPECS[s.name].labels, s.labels, strict=True))
        assert labels.get("service", "") in services, s
        assert labels.get("unit", "") == "" or labels["unit"].endswith(".service"), s
        assert labels.get("engine", "") in {*ENGINES, ""}, s
        assert labels.get("severity", "info") in ("info", "warning", "critical"), s
        assert not re.search(r"[0-9a-f]{12,}", "".join(s.labels)), s  # no IDs
    assert len(snapshot.samples) < 100


def test_the_exposition_parses_back_to_the_same_samples(seed_snapshot: Snapshot) -> None:
    text = render(seed_snapshot.samples)
    parsed = {(m.name, tuple(sorted(s.labels.items())), s.value)
              for f in text_string_to_metric_families(text) for m in [f] for s in f.samples}
    expected = {(s.name, tuple(sorted((k, v) for k, v in zip(SPECS[s.name].labels, s.labels, strict=True))), s.value)
                for s in seed_snapshot.samples}
    assert parsed == expected


def test_promtool_finds_nothing_to_lint(seed_snapshot: Snapshot, promtool: Path) -> None:
    text = render([*seed_snapshot.samples, Sample("ostriage_watch_restarts_total",
                                                  ("neutron-server", "neutron-server.service", "", ""), 3)])
    proc = subprocess.run([str(promtool), "check", "metrics"], input=text, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "" and proc.stderr.strip() == "", proc.stdout + proc.stderr


def test_every_metric_is_documented_with_its_labels() -> None:
    doc = (ROOT / "docs" / "monitoring.md").read_text()
    rows = dict(re.findall(r"^\| `(ostriage_\w+)` \| [a-z]+ \| ([^|]*) \|", doc, re.M))
    assert set(rows) == {m.name for m in METRICS}
    for m in METRICS:
        assert set(re.findall(r"`(\w+)`", rows[m.name])) == set(m.labels), m.name


def test_textfile_is_replaced_whole_and_readable_by_node_exporter(seed_snapshot: Snapshot, tmp_path: Path) -> None:
    path = tmp_path / "ostriage.prom"
    path.write_text("# the previous run\n")
    path.chmod(0o600)
    write_textfile(str(path), seed_snapshot.samples)
    assert path.read_text() == render(seed_snapshot.samples)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["ostriage.prom"]  # no temporary file left


def test_textfile_in_a_missing_directory_fails_cleanly(seed_snapshot: Snapshot, tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_textfile(str(tmp_path / "absent" / "ostriage.prom"), seed_snapshot.samples)


@pytest.mark.parametrize(("bundle", "container", "unit"), [
    ("seed-tripleo-podman", "neutron_api", "tripleo_neutron_api.service"),
    ("seed-kolla-podman", "neutron_server", "kolla-neutron_server-container.service"),
])
def test_a_containerised_neutron_server_is_named_by_its_container(bundle: str, container: str, unit: str) -> None:
    """The seed incident recorded in TripleO's and Kolla's podman containers (the lab's recordings): kills,
    findings, limit and predicted need carry one label set, the container's, so the rules can join them."""
    from ostriage.monitor.snapshot import take
    from ostriage.sources import open_target

    with open_target(str(ROOT / "examples" / bundle)) as source:
        snapshot = take(source)
    doc = snapshot.document
    where = {"service": "neutron-server", "unit": unit, "container": container, "engine": "podman"}
    oom = next(f for f in doc["findings"] if f["code"] == "OOM001")
    limit = next(f for f in doc["findings"] if f["code"] == "CTR002")["data"]
    assert labelled(snapshot, "ostriage_oom_kills", **where) == [oom["data"]["kills"]]
    assert labelled(snapshot, "ostriage_finding", code="OOM001", **where) == [1.0]
    assert labelled(snapshot, "ostriage_finding", code="CTR002", **where) == [1.0]
    assert labelled(snapshot, "ostriage_memory_limit_bytes", **where) == [limit["limit_bytes"]] == [2 * 1024**3]
    need = labelled(snapshot, "ostriage_memory_predicted_need_bytes", **where)
    if limit["predicted_need_bytes"] is None:  # Kolla: its configuration was not collected
        assert need == [] and labelled(snapshot, "ostriage_evidence_missing",
                                       what="configuration of neutron-server") == [1.0]
    else:
        assert sorted(need) == [pytest.approx(b, rel=1e-6) for b in sorted(limit["predicted_need_bytes"])]
    assert not labelled(snapshot, "ostriage_oom_kills", container="")  # no kill left without its container


def test_a_compute_node_has_no_neutron_server_needs(ussuri_tarball: Path) -> None:
    """The real ussuri compute sosreport: neutron.conf is there, neutron-server is not."""
    from ostriage.monitor.snapshot import take
    from ostriage.sources import open_target

    with open_target(str(ussuri_tarball)) as source:
        snapshot = take(source)
    names = {s.name for s in snapshot.samples}
    assert not {"ostriage_memory_predicted_need_bytes", "ostriage_neutron_memory_budget_bytes"} & names
    assert values(snapshot, "ostriage_diagnosis_status") == {(): 0.0}
    assert labelled(snapshot, "ostriage_finding", code="SYS003", unit="ceph-osd@0.service", severity="info",
                    service="") == [1.0]
