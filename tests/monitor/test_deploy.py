"""The shipped Prometheus rules, Prometheus and Alertmanager examples and systemd units, checked by the
tools that will read them: promtool (check rules, test rules, check config), amtool (check-config,
template render) and systemd-analyze; and the rules evaluated on ostriage's own metrics of the recorded
seed incident and of the healthy scenario."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ostriage.monitor.alerts import LoopInfo, crash_loop_alert
from ostriage.monitor.labels import Target
from ostriage.monitor.metrics import SPECS
from ostriage.monitor.snapshot import Snapshot

from .conftest import DEPLOY

RULES = DEPLOY / "prometheus" / "ostriage-rules.yml"


def run(argv: list[str | Path], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_promtool_checks_the_rules(promtool: Path) -> None:
    proc = run([promtool, "check", "rules", RULES])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_promtool_unit_tests_of_the_rules_pass(promtool: Path) -> None:
    tests = sorted((DEPLOY / "prometheus" / "tests").glob("*.test.yml"))
    assert tests
    proc = run([promtool, "test", "rules", *tests])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_checks_the_example_prometheus_config(promtool: Path) -> None:
    proc = run([promtool, "check", "config", DEPLOY / "prometheus" / "prometheus.yml"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_amtool_checks_the_example_alertmanager_config(amtool: Path) -> None:
    proc = run([amtool, "check-config", "alertmanager.yml"], cwd=DEPLOY / "alertmanager")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 inhibit rules" in proc.stdout and "1 templates" in proc.stdout


def test_the_notification_template_tells_the_story(amtool: Path, seed_snapshot: Snapshot, tmp_path: Path) -> None:
    loop = LoopInfo(Target("neutron-server", "neutron-server.service"), "2 restarts within 600 s",
                    datetime(2026, 11, 25, 5, 53, 8, tzinfo=UTC))
    alert = crash_loop_alert(seed_snapshot.document, loop, instance="ostlab-controller",
                             ends_at=datetime(2026, 11, 25, 5, 57, 8, tzinfo=UTC),
                             generator_url="http://ostlab-controller:9891/diagnosis")
    data = {"receiver": "openstack-oncall", "status": "firing", "alerts": [{**alert, "status": "firing"}],
            "groupLabels": {"instance": "ostlab-controller"}, "commonLabels": alert["labels"],
            "commonAnnotations": alert["annotations"], "externalURL": "http://alertmanager:9093"}
    (tmp_path / "data.json").write_text(json.dumps(data))
    out = {}
    for name in ("ostriage.subject", "ostriage.text"):
        proc = run([amtool, "template", "render", f"--template.glob={DEPLOY / 'alertmanager' / 'ostriage.tmpl'}",
                    f"--template.data={tmp_path / 'data.json'}", f'--template.text={{{{ template "{name}" . }}}}'])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out[name] = proc.stdout
    assert out["ostriage.subject"].strip() == \
        "[FIRING] OstriageCrashLoop on ostlab-controller (neutron-server.service)"
    text = out["ostriage.text"]
    assert "Root cause: NEU001 ml2-segment-range-too-large: [ml2_type_geneve] vni_ranges = 1:16777215" in text
    assert "→ OOM001 service-oom-kill-loop" in text and "Made worse by:" in text
    assert "Fix:\nset [ml2_type_geneve] vni_ranges = 1:65535 and restart neutron-server" in text
    assert "Details: http://ostlab-controller:9891/diagnosis" in text


def test_every_ostriage_metric_the_rules_use_exists_with_those_labels() -> None:
    text = RULES.read_text()
    used = re.findall(r"\b(ostriage_[a-z_]+)(\{[^}]*\})?", text)
    assert {name for name, _ in used} >= {"ostriage_root_cause", "ostriage_memory_limit_bytes"}
    for name, matchers in used:
        assert name in SPECS, name
        for label in re.findall(r"(\w+)\s*[!=]~?", matchers):
            assert label in (*SPECS[name].labels, "instance", "job"), (name, label)


def _series(snapshot: Snapshot, instance: str, shift: float) -> list[dict[str, str]]:
    """The snapshot as promtool input series, 30 minutes long, as the textfile collector would expose it.
    Unix times are moved by ``shift`` so that the evidence's moment falls inside promtool's clock (from 0)."""
    out = []
    for s in snapshot.samples:
        labels = {"instance": instance, "job": "node", **dict(zip(SPECS[s.name].labels, s.labels, strict=True))}
        value = s.value - shift if s.name.endswith("_timestamp_seconds") else s.value
        body = ",".join(f"{k}={json.dumps(v)}" for k, v in labels.items() if v)
        out.append({"series": f"{s.name}{{{body}}}", "values": f"{value!r}x30"})
    return out


def _firing(promtool: Path, tmp_path: Path, series: list[dict[str, str]], eval_time: str,
            expected: dict[str, int]) -> subprocess.CompletedProcess[str]:
    test = {"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": series,
        "promql_expr_test": [{"expr": 'count by (alertname) (ALERTS{alertstate="firing"})', "eval_time": eval_time,
                              "exp_samples": [{"labels": f'{{alertname="{name}"}}', "value": n}
                                              for name, n in sorted(expected.items())]}]}]}
    path = tmp_path / f"generated-{eval_time}.test.yml"
    path.write_text(json.dumps(test, indent=1))  # YAML is a superset of JSON
    return run([promtool, "test", "rules", path])


def test_the_rules_fire_on_ostriages_own_metrics_of_the_seed_incident(promtool: Path, seed_snapshot: Snapshot,
                                                                     tmp_path: Path) -> None:
    collected = datetime.fromisoformat(seed_snapshot.document["target"]["collected_at"]).replace(tzinfo=UTC)
    # as if the metrics were taken when the sosreport was (its `date` says UTC): diagnosis at t=60 s
    shift = collected.timestamp() - 60
    stamps = [s for s in seed_snapshot.samples if s.name == "ostriage_diagnosis_timestamp_seconds"]
    series = [s for s in _series(seed_snapshot, "ostlab-controller", shift)
              if not s["series"].startswith("ostriage_diagnosis_timestamp_seconds")]
    series.append({"series": 'ostriage_diagnosis_timestamp_seconds{instance="ostlab-controller",job="node"}',
                   "values": "60x30"})
    assert stamps
    roots = len(seed_snapshot.document["root_causes"])
    early = _firing(promtool, tmp_path, series, "5m", {"OpenStackServiceOOMKilled": 1, "OstriageRootCause": roots})
    assert early.returncode == 0, early.stdout + early.stderr
    later = _firing(promtool, tmp_path, series, "12m", {"OpenStackMemoryLimitBelowNeed": 1,
                                                        "NeutronSegmentRangeOverBudget": 1,
                                                        "OstriageRootCause": roots})
    assert later.returncode == 0, later.stdout + later.stderr


def test_the_rules_stay_quiet_on_the_healthy_scenario(promtool: Path, healthy_snapshot: Snapshot,
                                                      tmp_path: Path) -> None:
    shift = healthy_snapshot.finished - 60
    proc = _firing(promtool, tmp_path, _series(healthy_snapshot, "ctl-2", shift), "12m", {})
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_systemd_accepts_the_shipped_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    units = sorted((DEPLOY / "systemd").iterdir())
    for unit in units:  # the command must exist for verify to look further
        (tmp_path / unit.name).write_text(unit.read_text().replace("/usr/local/bin/ostriage", "/bin/true"))
    proc = run([analyze, "verify", *[tmp_path / u.name for u in units]])
    assert proc.returncode == 0 and proc.stdout.strip() == "" and proc.stderr.strip() == "", proc.stderr
