"""lint on the incident's configuration, on the fixed one, and on a bare copy of /etc/neutron."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ostriage.facts import collect
from ostriage.findings import Severity
from ostriage.lint import CHECKS, run_checks
from ostriage.remedy.run import FixOptions, fix
from ostriage.sources import SosReport, open_target

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-incident"
SCENARIOS = ROOT / "tests" / "scenarios"
Ostriage = Any  # the ``ostriage`` fixture of conftest.py


def _lint(target: Path) -> dict[str, list[str]]:
    with open_target(str(target)) as source:
        result = run_checks(collect(source))
    assert not result.failures
    found: dict[str, list[str]] = {}
    for f in result.findings:
        found.setdefault(f.rule, []).append(f.severity.label)
    return found


def test_seed_config_fails_on_the_range_and_passes_once_fixed(tmp_path: Path) -> None:
    before = _lint(SEED)
    assert before["segment-range-exceeds-budget"] == ["critical"]
    assert "oom-protection-on-neutron" in before
    copy = tmp_path / "host"
    shutil.copytree(SEED, copy, symlinks=True)
    with SosReport(copy) as source:
        assert fix(source, FixOptions(apply=True, root=copy)).applied is not None
    after = _lint(copy)
    assert "critical" not in [s for levels in after.values() for s in levels], after
    assert "segment-range-exceeds-budget" not in after and "oom-protection-on-neutron" not in after


def test_the_range_finding_cites_the_line_neutron_reads() -> None:
    with open_target(str(SEED)) as source:
        facts = collect(source)
    (finding,) = [f for f in run_checks(facts).findings if f.rule == "segment-range-exceeds-budget"]
    line = finding.evidence[0].line
    assert (line.path, line.text) == ("etc/neutron/plugins/ml2/ml2_conf.ini", "vni_ranges = 1:16777215")
    assert finding.data["ids"] == 16777215
    assert finding.data["need_bytes"][0] > finding.data["budget_bytes"] == 2 * 1024**3


def test_header_too_small_and_a_sane_limit_too_low() -> None:
    assert _lint(SCENARIOS / "header-too-small" / "sos")["ovn-geneve-header-too-small"] == ["critical"]
    limit = _lint(SCENARIOS / "limit-too-low" / "sos")
    assert limit["memory-max-below-predicted-need"] == ["critical"]
    assert "segment-range-exceeds-budget" not in limit  # the range is sane: the limit is the problem


def test_healthy_controller_is_clean() -> None:
    assert _lint(SCENARIOS / "healthy-controller" / "sos") == {}


def test_a_bare_copy_of_etc_neutron_is_linted_with_its_own_paths(tmp_path: Path) -> None:
    conf = tmp_path / "neutron"
    shutil.copytree(SEED / "etc" / "neutron", conf)
    with open_target(str(conf)) as source:
        facts = collect(source)
    findings = run_checks(facts).findings
    ranges = [f for f in findings if f.rule == "segment-range-exceeds-budget"]
    assert ranges and ranges[0].evidence[0].line.path == f"{conf}/plugins/ml2/ml2_conf.ini"
    # no unit files and no RAM known: the range is still large, but no budget can be claimed
    assert ranges[0].severity is Severity.WARNING and ranges[0].data["budget_bytes"] is None


def test_diagnose_and_fix_on_a_bare_copy_point_at_lint(tmp_path: Path, ostriage: Ostriage) -> None:
    """The incident's own configuration, copied alone, is no incident: nothing ran there, so the diagnosis finds
    nothing and says where a configuration is checked, as fix does; a report of a host says no such thing."""
    conf = tmp_path / "neutron conf"
    shutil.copytree(SEED / "etc" / "neutron", conf)
    pointer = f"`ostriage lint '{conf}'`"
    diagnosed = ostriage("diagnose", conf, "--format", "json")
    assert diagnosed.code == 0 and pointer in diagnosed.json()["facts"]["missing"][0]
    assert pointer in ostriage("fix", conf).out
    assert ostriage("lint", conf).code == 2  # what the pointer leads to: LNT003 on this configuration
    host = ostriage("diagnose", SEED, "--format", "json").json()
    assert not any("ostriage lint" in m for m in host["facts"]["missing"])


def test_every_check_is_registered_once() -> None:
    codes = [c.code for c in CHECKS]
    assert codes == sorted(set(codes)) and len(codes) == 9


def test_a_config_file_past_the_parser_s_limits_is_said_not_read(seed_copy: Path, ostriage: Ostriage) -> None:
    """issue 12: a 100,000-section neutron.conf cost 459 MiB; it is now refused with a one-line reason, and
    neither diagnose nor lint passes it over in silence."""
    with (seed_copy / "etc/neutron/neutron.conf").open("a") as conf:
        conf.writelines(f"[absurd{i}]\nk = v\n" for i in range(100_000))
    reason = "/etc/neutron/neutron.conf: more than 2,000 sections: too many for a configuration file, not read"
    diagnosed = ostriage("diagnose", seed_copy, "--format", "json", "--quiet")
    assert reason in diagnosed.json()["problems"]
    assert "ml2-segment-range-too-large" in {r["rule"] for r in diagnosed.json()["root_causes"]}
    linted = ostriage("lint", seed_copy)
    assert f"{seed_copy}: not read, so not checked: {reason}" in linted.out.splitlines()
    assert linted.out.splitlines()[-1].endswith(", 1 not read")
    assert json.loads(ostriage("lint", seed_copy, "--format", "json").out)["not_read"] == [reason]
