"""The real sos 4.2 report of a healthy Ubuntu ussuri compute node (../shared/fixtures): the whole command
line runs on it without error, finds no critical root cause, and no rule fails on real data.

What it reports (recorded 2026-11): status healthy, exit 0, one finding: INFO SYS003
unit-crash-looping-while-active about ceph-osd@0.service ("restarted 3 times until systemd gave up (last
2022-02-10 09:11:24); active and stable since"): a past crash loop that ended, correctly not a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

Ostriage = Any  # the ``ostriage`` fixture of conftest.py


def test_diagnose_the_tarball(ussuri_tarball: Path, ostriage: Ostriage) -> None:
    run = ostriage("diagnose", ussuri_tarball, "--format", "json")
    assert run.code in (0, 1), run.err
    assert run.err == ""
    doc = run.json()
    assert doc["exit_code"] == run.code
    assert (doc["target"]["kind"], doc["target"]["hostname"]) == ("sosreport", "compute4")
    assert doc["target"]["collected_at"].startswith("2022-02-10 16:19:17")
    assert doc["rule_failures"] == []
    assert not [f for f in doc["findings"] if f["severity"] == "critical"]
    assert not [r for r in doc["root_causes"] if r["severity"] == "critical"]
    assert doc["status"] in ("healthy", "warning")
    # what it reports today: a crash loop of ceph-osd@0 that ended hours before collection
    assert [(f["code"], f["severity"], f["subject"]) for f in doc["findings"]] == [
        ("SYS003", "info", "ceph-osd@0.service")]
    assert doc["facts"]["units"] > 100 and doc["facts"]["listeners"] and doc["facts"]["processes"] > 100


def test_lint_and_predict_on_the_directory(ussuri_sos: Path, ostriage: Ostriage) -> None:
    """A compute node: no neutron-server config, so nothing to lint and no range to predict, and each says so."""
    lint = ostriage("lint", ussuri_sos)
    assert lint.code == 0 and lint.err == ""
    assert lint.out.endswith(": 0 error(s), 0 warning(s), 9 checks run\n")
    predict = ostriage("predict", ussuri_sos)
    assert (predict.code, predict.out) == (64, "")
    assert predict.err == ("ostriage: error: no tunnel range to predict: give --vni-ranges, or a target whose "
                           "neutron config enables one\n")
