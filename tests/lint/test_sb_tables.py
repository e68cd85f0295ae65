"""LNT009 on the real seed bundle, its release changed in the evidence (the banner neutron logs)."""

from __future__ import annotations

from pathlib import Path

from ostriage.facts import collect
from ostriage.findings import Finding, Severity
from ostriage.lint import run_checks
from ostriage.sources import open_target


def _release(root: Path, version: str) -> Path:
    for log in (root / "var/log/neutron").glob("*.log"):
        log.write_text(log.read_text().replace("version 29.0.0", f"version {version}"))
    return root


def _lnt009(root: Path) -> list[Finding]:
    with open_target(str(root)) as source:
        return [f for f in run_checks(collect(source)).findings if f.code == "LNT009"]


def test_a_release_that_keeps_mac_binding_is_warned_about(seed_copy: Path) -> None:
    (found,) = _lnt009(_release(seed_copy, "18.1.1"))
    assert found.subject == "OVN_Southbound.MAC_Binding" and found.severity is Severity.WARNING
    assert "upgrade to 18.2.0" in found.summary
    assert found.remedy is not None
    assert any("options:mac_binding_age_threshold=300" in s for s in found.remedy.steps)


def test_the_fixed_release_and_todays_are_clean(seed_copy: Path) -> None:
    assert _lnt009(_release(seed_copy, "18.2.0")) == []
    assert _lnt009(seed_copy) == []  # 29.0.0 as recorded


def test_fdb_learning_without_aging_on_2024_1(seed_copy: Path) -> None:
    _release(seed_copy, "24.2.2")
    ml2 = seed_copy / "etc/neutron/plugins/ml2/ml2_conf.ini"
    ml2.write_text(ml2.read_text().replace("[ovn]\n", "[ovn]\nlocalnet_learn_fdb = true\n"))
    (found,) = _lnt009(seed_copy)
    assert found.subject == "OVN_Southbound.FDB"
    ml2.write_text(ml2.read_text().replace("[ovn]\n", "[ovn]\nfdb_age_threshold = 300\n"))
    assert _lnt009(seed_copy) == []
